"""Training triples: read FlagEmbedding JSONL or a saved ``datasets`` folder, validate, and draw groups.

A training *group* is one query with one positive and ``group_size - 1`` negatives. Groups are drawn
afresh every epoch, as FlagEmbedding does, from a random generator keyed by ``(seed, epoch, row)``:
the draw for a row never depends on what was drawn before, so a run resumed mid-epoch sees exactly
the groups an uninterrupted run would have seen.
"""
from __future__ import annotations

import logging
import math
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from rerank_fix.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

    from rerank_fix.finetune.augment import TypoFn

logger = logging.getLogger("rerank_fix.finetune")


@dataclass(frozen=True)
class Triple:
    """One training query with its positives and mined negatives.

    Args:
        query: Query text.
        pos: Relevant documents (texts), at least one.
        neg: Non-relevant documents (texts), usually mined hard negatives.
        query_id: The query's id when the file carries one (used to keep dev/test queries out of training).
        source: ``file:line`` for messages.
        pos_scores / neg_scores: Teacher scores of each positive / negative (FlagEmbedding's distillation
            fields), or ``None`` when the file has none.

    Example:
        >>> Triple("rotate an api key", ("Keys rotate in the console.",), ("Dark mode is in settings.",)).neg
        ('Dark mode is in settings.',)
    """

    query: str
    pos: tuple[str, ...]
    neg: tuple[str, ...]
    query_id: str | None = None
    source: str = ""
    pos_scores: tuple[float, ...] | None = None
    neg_scores: tuple[float, ...] | None = None


def _scored_text_list(obj: dict, key: str, where: str) -> tuple[tuple[str, ...], tuple[float, ...] | None]:
    """The texts under ``key`` and, when ``<key>_scores`` is present, their teacher scores kept aligned."""
    raw = obj.get(key) or []
    raw = [raw] if isinstance(raw, str) else raw
    scores = obj.get(f"{key}_scores")
    if scores is None:
        return _text_list(raw, key, where), None
    if not isinstance(scores, (list, tuple)) or not isinstance(raw, (list, tuple)) or len(scores) != len(raw):
        n = len(scores) if isinstance(scores, (list, tuple)) else type(scores).__name__
        raise DataError(f"{where}: field '{key}_scores' must be a list of numbers, one per entry of {key!r} "
                        f"({len(raw) if isinstance(raw, (list, tuple)) else '?'} entries, got {n})")
    texts, kept = [], []
    for i, (item, score) in enumerate(zip(raw, scores)):
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise DataError(f"{where}: {key}_scores[{i}] must be a finite number, got {score!r}")
        text = _text_list([item], key, where)
        if text:
            texts.append(text[0])
            kept.append(float(score))
    return tuple(texts), tuple(kept)


def _text_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise DataError(f"{where}: field {key!r} must be a list of strings, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):  # {"title", "text"} documents, as some miners write them
            item = "\n".join(str(item.get(k) or "") for k in ("title", "text") if item.get(k))
        if not isinstance(item, str):
            raise DataError(f"{where}: {key}[{i}] must be a string, got {type(item).__name__}")
        if item.strip():
            out.append(item)
    return tuple(out)


def _triple_from_obj(obj: dict, where: str) -> Triple:
    query = obj.get("query")
    if not isinstance(query, str) or not query.strip():
        raise DataError(f"{where}: field 'query' must be a non-empty string "
                        "(expected FlagEmbedding format: {\"query\": str, \"pos\": [str], \"neg\": [str]})")
    if "pos" not in obj:
        raise DataError(f"{where}: missing field 'pos' (a list with at least one relevant document text)")
    pos, pos_scores = _scored_text_list(obj, "pos", where)
    if not pos:
        raise DataError(f"{where}: field 'pos' is empty; every query needs at least one relevant document")
    neg, neg_scores = _scored_text_list(obj, "neg", where)
    if (pos_scores is None) != (neg_scores is None):
        raise DataError(f"{where}: has {'pos_scores' if neg_scores is None else 'neg_scores'} but not "
                        f"{'neg_scores' if neg_scores is None else 'pos_scores'}; teacher scores need both")
    qid = obj.get("query_id", obj.get("qid"))
    return Triple(query, pos, neg, None if qid is None else str(qid), where, pos_scores, neg_scores)


def read_triples(path: str | Path, show_progress: bool = True) -> list[Triple]:
    """Read triples from FlagEmbedding JSONL or a ``datasets`` folder (``save_to_disk``).

    Extra keys (``query_id``, ``pos_ids``, ``neg_ids``, ``metadata``, ``prompt`` ...) are tolerated;
    ``query_id`` is kept. Errors name the file and line.

    Example:
        >>> triples = read_triples("runs/mine/triples.jsonl")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: triples file not found. Mine them first, e.g. `rerank-fix mine --data "
                        "../shared/data/scifact --split train --out runs/mine/scifact`, or point data.triples at "
                        "your own FlagEmbedding JSONL file or a saved datasets folder")
    if path.is_dir():
        return _read_dataset_dir(path)
    from tqdm.auto import tqdm

    from rerank_fix.data.jsonl import read_jsonl

    size = path.stat().st_size
    triples = [
        _triple_from_obj(obj, f"{path}:{line_no}")
        for line_no, obj in tqdm(read_jsonl(path), desc="reading triples", unit=" lines",
                                 disable=not show_progress or size < 5_000_000)
    ]
    if not triples:
        raise DataError(f"{path}: no triples in the file")
    return triples


def _read_dataset_dir(path: Path) -> list[Triple]:
    try:
        from datasets import DatasetDict, load_from_disk

        ds = load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{path}: not a dataset saved with save_to_disk ({exc})") from None
    if isinstance(ds, DatasetDict):
        if "train" not in ds:
            raise DataError(f"{path}: a DatasetDict without a 'train' split (splits: {', '.join(ds)}); "
                            "save the training triples as the 'train' split")
        ds = ds["train"]
    missing = {"query", "pos"} - set(ds.column_names)
    if missing:
        raise DataError(f"{path}: dataset lacks column(s) {', '.join(sorted(missing))}; expected query, pos, neg "
                        f"(has: {', '.join(ds.column_names)})")
    triples = [_triple_from_obj(row, f"{path}[row {i}]") for i, row in enumerate(ds)]
    if not triples:
        raise DataError(f"{path}: the dataset has no rows")
    return triples


def normalise_query(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class PreparedTriples:
    """Triples after dev/test filtering, subsetting and the negatives check, with the numbers for the card.

    Args:
        triples: The training triples.
        stats: Counts and lengths (``queries``, ``negatives_mean``, ``dropped_dev_queries`` ...).

    Example:
        >>> prepare_triples([Triple("q", ("p",), ("n1", "n2"))], group_size=3).stats["negatives_needed"]
        2
    """

    triples: list[Triple]
    stats: dict[str, Any] = field(default_factory=dict)


# More training queries than this share being test queries means the triples were mined from the test split.
MAX_TEST_OVERLAP = 0.05


def prepare_triples(triples: Sequence[Triple], group_size: int, too_few_negatives: str = "error",
                    exclude_ids: Iterable[str] = (), exclude_texts: Iterable[str] = (),
                    forbidden_ids: Iterable[str] = (), forbidden_texts: Iterable[str] = (),
                    max_triples: int | None = None, shuffle_subset: bool = True, seed: int = 42,
                    source: str = "triples") -> PreparedTriples:
    """Drop dev and test queries, check negatives, take the subset.

    Args:
        triples: As read.
        group_size: Documents per group; each query needs ``group_size - 1`` negatives.
        too_few_negatives: ``error`` | ``drop`` | ``repeat`` for queries with fewer negatives.
        exclude_ids / exclude_texts: Dev queries (by id or normalised text), removed from training.
        forbidden_ids / forbidden_texts: Held-out test queries (ids, normalised texts). A few are dropped
            with a warning (collections repeat some query texts across splits); more than
            ``MAX_TEST_OVERLAP`` of the triples is an error: they were mined from the test split.
        max_triples: Keep at most this many queries.
        shuffle_subset: Take the subset at random (seeded) instead of the first N.
        seed: Seed for the subset.
        source: Name for messages.

    Example:
        >>> t = [Triple("q", ("p",), ("n1", "n2", "n3"))]
        >>> prepare_triples(t, group_size=4).stats["queries"]
        1
    """
    needed = group_size - 1
    exclude_ids, exclude_texts = set(exclude_ids), set(exclude_texts)
    test_ids, test_texts = set(forbidden_ids), set(forbidden_texts)

    def base_id(t: Triple) -> str | None:
        # The miner's typo copies are "<id>#typo<k>": a copy of a dev (test) query is a dev (test) query too.
        return None if t.query_id is None else t.query_id.split("#", 1)[0]

    leaked = [t for t in triples if base_id(t) in test_ids or normalise_query(t.query) in test_texts]
    if leaked:
        examples = "; ".join(f"{t.source}: {t.query[:60]!r}" for t in leaked[:3])
        if len(leaked) > MAX_TEST_OVERLAP * len(triples):
            raise DataError(f"{source}: {len(leaked)} of {len(triples)} training queries are queries of the "
                            f"held-out test split ({examples}). Training on test queries makes the test "
                            "evaluation meaningless; mine triples from the training split only")
        logger.warning("%s: dropping %d training queries that are also held-out test queries (%s)", source,
                       len(leaked), examples)
        leaked_ids = {id(t) for t in leaked}
        triples = [t for t in triples if id(t) not in leaked_ids]
    kept = [t for t in triples if base_id(t) not in exclude_ids and normalise_query(t.query) not in exclude_texts]
    dropped_dev = len(triples) - len(kept)
    short = [t for t in kept if len(t.neg) < needed]
    if short and too_few_negatives == "error":
        most = max(len(t.neg) for t in kept) if kept else 0
        worst = min(short, key=lambda t: len(t.neg))
        raise DataError(
            f"{source}: data.group_size={group_size} needs {needed} negatives per query, but {len(short)} of "
            f"{len(kept)} queries have fewer (e.g. {worst.source} has {len(worst.neg)}; the most any query has "
            f"is {most}). Lower data.group_size to at most {max(2, min(len(t.neg) for t in kept) + 1)}, mine more "
            "negatives, or set data.too_few_negatives to 'drop' or 'repeat'")
    if too_few_negatives == "drop":
        kept = [t for t in kept if len(t.neg) >= needed]
    no_negatives = [t for t in kept if not t.neg]
    if no_negatives:
        raise DataError(f"{source}: {len(no_negatives)} queries have no negatives at all (e.g. "
                        f"{no_negatives[0].source}); a ranking loss needs at least one")
    if not kept:
        raise DataError(f"{source}: no training queries left after removing dev queries and queries with "
                        f"fewer than {needed} negatives")
    if max_triples is not None and len(kept) > max_triples:
        if shuffle_subset:
            order = list(range(len(kept)))
            random.Random(seed).shuffle(order)
            kept = [kept[i] for i in sorted(order[:max_triples])]
        else:
            kept = kept[:max_triples]
    stats = triple_stats(kept, needed)
    stats.update({"read": len(triples) + len(leaked), "dropped_dev_queries": dropped_dev,
                  "dropped_test_queries": len(leaked),
                  "dropped_too_few_negatives": len(short) if too_few_negatives == "drop" else 0,
                  "repeated_negatives": len(short) if too_few_negatives == "repeat" else 0})
    return PreparedTriples(kept, stats)


def triple_stats(triples: Sequence[Triple], needed: int | None = None) -> dict[str, Any]:
    """Counts and lengths for the model card."""
    negs = [len(t.neg) for t in triples]
    poss = [len(t.pos) for t in triples]
    qwords = [len(t.query.split()) for t in triples]
    dwords = [len(d.split()) for t in triples[:2000] for d in (t.pos[0], *t.neg[:3])]
    return {
        "queries": len(triples),
        "positives_mean": round(statistics.fmean(poss), 2) if poss else 0,
        "negatives_mean": round(statistics.fmean(negs), 2) if negs else 0,
        "negatives_min": min(negs) if negs else 0,
        "negatives_max": max(negs) if negs else 0,
        "query_words_mean": round(statistics.fmean(qwords), 1) if qwords else 0,
        "doc_words_mean": round(statistics.fmean(dwords), 1) if dwords else 0,
        **({"negatives_needed": needed} if needed is not None else {}),
    }


class GroupSampler:
    """Draws the training group of a row for the current epoch; the ``datasets`` transform of the train set.

    Args:
        group_size: Documents per group (1 positive + ``group_size - 1`` negatives).
        seed: Base seed.
        typo_fn: Typo model for query augmentation, or ``None``.
        typo_probability: Chance a query is corrupted in a given epoch.
        typo_rate: Per-character rate handed to ``typo_fn``.
        teacher_scores: Emit the teacher scores of the drawn documents as labels (distillation) instead
            of 1 for the positive and 0 for the negatives.

    Example:
        >>> s = GroupSampler(group_size=3, seed=0)
        >>> q, docs, labels = s.draw("q", ("p",), ("a", "b", "c"), row=0)
        >>> len(docs), labels
        (3, [1, 0, 0])
    """

    def __init__(self, group_size: int, seed: int, typo_fn: "TypoFn | None" = None,
                 typo_probability: float = 0.0, typo_rate: float = 0.05, teacher_scores: bool = False) -> None:
        self.group_size = group_size
        self.teacher_scores = teacher_scores
        self.seed = seed
        self.typo_fn = typo_fn
        self.typo_probability = typo_probability
        self.typo_rate = typo_rate
        # Set by the trainer's epoch callback before each epoch's batches are drawn.
        self.epoch = 0

    def draw(self, query: str, pos: Sequence[str], neg: Sequence[str], row: int, epoch: int | None = None,
             pos_scores: Sequence[float] | None = None, neg_scores: Sequence[float] | None = None
             ) -> tuple[str, list[str], list[float]]:
        epoch = self.epoch if epoch is None else epoch
        # A string seed is hashed with SHA-512, identical across processes and Python runs.
        rng = random.Random(f"{self.seed}:{epoch}:{row}")
        p = rng.randrange(len(pos))
        needed = self.group_size - 1
        pool = list(range(len(neg)))
        if len(pool) < needed:
            pool = pool * math.ceil(needed / len(pool))
        picks = rng.sample(pool, needed)
        if self.typo_fn is not None and rng.random() < self.typo_probability:
            query = self.typo_fn(query, self.typo_rate, rng)
        docs = [pos[p], *(neg[i] for i in picks)]
        if self.teacher_scores:
            if pos_scores is None or neg_scores is None:
                raise DataError(f"training row {row} has no teacher scores (pos_scores/neg_scores); a "
                                "distillation loss needs them on every triple")
            return query, docs, [float(pos_scores[p]), *(float(neg_scores[i]) for i in picks)]
        return query, docs, [1] + [0] * needed

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        queries, docs, labels = [], [], []
        scores = zip(batch["pos_scores"], batch["neg_scores"]) if self.teacher_scores else \
            ((None, None) for _ in batch["row"])
        for query, pos, neg, row, (ps, ns) in zip(batch["query"], batch["pos"], batch["neg"], batch["row"], scores):
            q, d, lab = self.draw(query, pos, neg, row, pos_scores=ps, neg_scores=ns)
            queries.append(q)
            docs.append(d)
            labels.append(lab)
        # Column order matters to sentence-transformers losses: (query, documents), then the labels.
        return {"query": queries, "docs": docs, "labels": labels}


def build_train_dataset(triples: Sequence[Triple], sampler: GroupSampler) -> "Dataset":
    """An Arrow dataset of the triples whose rows come out as freshly drawn groups (see :class:`GroupSampler`)."""
    from datasets import Dataset

    columns: dict[str, list] = {
        "query": [t.query for t in triples],
        "pos": [list(t.pos) for t in triples],
        "neg": [list(t.neg) for t in triples],
        "row": list(range(len(triples))),
    }
    if sampler.teacher_scores:
        missing = [t for t in triples if t.pos_scores is None or t.neg_scores is None]
        if missing:
            raise DataError(f"{missing[0].source or 'triples'}: {len(missing)} of {len(triples)} training queries "
                            "have no teacher scores (pos_scores/neg_scores); the distillation loss needs them on "
                            "every line. Mine with --teacher-scores MODEL, or use loss.name: group_ce")
        columns["pos_scores"] = [list(t.pos_scores) for t in triples]  # type: ignore[arg-type]
        columns["neg_scores"] = [list(t.neg_scores) for t in triples]  # type: ignore[arg-type]
    ds = Dataset.from_dict(columns)
    ds.set_transform(sampler)
    return ds
