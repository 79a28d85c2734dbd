"""A hard-negative stress set: distractors that look like the positive but do not answer the query.

The seed's failure case (c): a reranker that matches surface cues promotes a document that shares the
positive's title words or named entities over the one that answers. This module builds a test collection
that concentrates that case, from any corpus with judgements, in two seeded, deterministic ways:

- ``title-neighbour``: other corpus documents found by BM25 over the *titles* (the first sentence where a
  corpus has none) with the positive's title as the query. Judged positives of the query and near-duplicates
  of a positive (:class:`~rerank_fix.mine.dedup.DuplicateChecker`, the miner's own check) are excluded, and
  each keeps the title terms it shares with the positive, rarest first. They are unjudged corpus documents:
  on a collection with incomplete judgements a few may in fact be relevant, which the manifest lets a person
  check.
- ``sentence-swap``: a synthetic copy of the positive with the same title, in which the sentences that match
  the query best (its key sentences) are replaced by sentences of another document. It shares nearly every
  word and entity with the positive and has lost what answered the query. These are added for a seeded share
  of the queries only (query metadata ``distractors: swapped copy added``); the others are the control
  (``distractors: control``), so a comparison report's strata show the reranker with and without them.

The output is an ordinary BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``), so every
command reads it, with ``distractors.jsonl`` (one line per distractor: how it was made) and ``stress.json``
(settings and counts). :func:`distractor_outranking` then measures, on any run, how often a distractor is
ranked above the query's best-ranked positive.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from rerank_fix.core.run import Run
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.errors import ConfigError
from rerank_fix.mine.dedup import DuplicateChecker
from rerank_fix.retrieve.bm25 import BM25Retriever
from rerank_fix.retrieve.tokenize import tokenize

TITLE_NEIGHBOUR = "title-neighbour"
SENTENCE_SWAP = "sentence-swap"
KINDS = (TITLE_NEIGHBOUR, SENTENCE_SWAP)
TREATED, CONTROL = "swapped copy added", "control"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")
_HEADLINE_WORDS = 24


@dataclass(frozen=True)
class StressConfig:
    """Settings of :func:`build_stress_set`.

    Args:
        neighbours: Title-sharing corpus documents per query (0: none).
        min_shared_terms: Title terms (stemmed, stopwords out) a neighbour must share with the positive's.
        swaps: Sentence-swapped copies of the positive per treated query (0: none).
        swap_sentences: Key sentences replaced in each copy.
        swap_share: Share of the queries that get swapped copies; the rest are the control stratum.
        search_depth: Title-BM25 hits examined per query before filtering.
        near_duplicate_threshold: Word-shingle Jaccard at or above which a neighbour duplicates a positive.
        shingle_size: Words per shingle for that check.
        seed: Drives the treated/control split and the donor sentences; the same seed gives the same set.
    """

    neighbours: int = 3
    min_shared_terms: int = 2
    swaps: int = 1
    swap_sentences: int = 2
    swap_share: float = 0.5
    search_depth: int = 30
    near_duplicate_threshold: float = 0.8
    shingle_size: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.neighbours < 0 or self.swaps < 0 or self.swap_sentences < 1 or self.search_depth < 1:
            raise ConfigError("stress set: neighbours and swaps must be >= 0, swap_sentences and search_depth >= 1 "
                              f"(got {self.neighbours}, {self.swaps}, {self.swap_sentences}, {self.search_depth})")
        if not 0.0 <= self.swap_share <= 1.0:
            raise ConfigError(f"stress set: swap_share must be between 0 and 1, got {self.swap_share}")
        if self.neighbours == 0 and (self.swaps == 0 or self.swap_share == 0):
            raise ConfigError("stress set: nothing to build — set neighbours or swaps (with swap_share > 0) above 0")


@dataclass(frozen=True)
class Distractor:
    """One distractor and how it was made (a line of ``distractors.jsonl``)."""

    query_id: str
    positive_id: str
    doc_id: str
    kind: str
    shared_terms: list[str] = field(default_factory=list)
    title_score: float | None = None
    donor_id: str | None = None
    removed: list[str] = field(default_factory=list)
    inserted: list[str] = field(default_factory=list)


@dataclass
class StressSet:
    """The built set: the eval set with distractors added, and the manifest."""

    eval_set: EvalSet
    distractors: list[Distractor]
    config: StressConfig
    split: str
    stats: dict[str, Any]

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write the BEIR folder, ``distractors.jsonl`` and ``stress.json``; returns the paths."""
        from rerank_fix.core.jsonio import atomic_writer, write_json, write_jsonl

        folder = Path(folder)
        (folder / "qrels").mkdir(parents=True, exist_ok=True)
        paths = {"corpus": folder / "corpus.jsonl", "queries": folder / "queries.jsonl",
                 "qrels": folder / "qrels" / f"{self.split}.tsv", "manifest": folder / "distractors.jsonl",
                 "stats": folder / "stress.json"}
        write_jsonl(paths["corpus"], ({"_id": d.doc_id, "title": d.title, "text": d.text,
                                       **({"metadata": dict(d.metadata)} if d.metadata else {})}
                                      for d in self.eval_set.corpus.values()))
        write_jsonl(paths["queries"], ({"_id": q.query_id, "text": q.text, "metadata": dict(q.metadata)}
                                       for q in self.eval_set.queries.values()))
        with atomic_writer(paths["qrels"]) as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            for qid, judged in self.eval_set.qrels.items():
                for doc_id, grade in judged.items():
                    fh.write(f"{qid}\t{doc_id}\t{grade}\n")
        write_jsonl(paths["manifest"], (asdict(d) for d in self.distractors))
        write_json(paths["stats"], {"config": asdict(self.config), "split": self.split, **self.stats})
        return paths


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: split after ``. ! ?`` followed by space and a capital, digit or bracket.

    Example:
        >>> split_sentences("Aspirin helps. It lowers risk (by 20%). e.g. not always")
        ['Aspirin helps.', 'It lowers risk (by 20%). e.g. not always']
    """
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def headline(doc: Document) -> str:
    """The document's title, or its first sentence (at most 24 words) when it has none."""
    if doc.title.strip():
        return doc.title
    first = split_sentences(doc.text)[:1]
    return " ".join((first[0] if first else doc.text).split()[:_HEADLINE_WORDS])


def _overlap(sentence: str, query_terms: set[str]) -> int:
    return len(query_terms & set(tokenize(sentence)))


def _unique_id(base: str, taken: Mapping[str, Any]) -> str:
    doc_id, n = base, 1
    while doc_id in taken:
        n += 1
        doc_id = f"{base}-{n}"
    return doc_id


def build_stress_set(eval_set: EvalSet, config: StressConfig | None = None, split: str = "test") -> StressSet:
    """Add distractors for every judged query of ``eval_set`` (see the module docstring).

    Args:
        eval_set: Corpus, queries and judgements (e.g. ``load_eval_set(folder, split="test")``).
        config: Settings; the defaults add 3 title neighbours to every query and one swapped copy to half.
        split: Name of the qrels split written.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> stress = build_stress_set(load_eval_set("demo").subset(["q0005", "q0006"]), StressConfig(seed=1))
        >>> sorted({d.kind for d in stress.distractors})
        ['sentence-swap', 'title-neighbour']
    """
    cfg = config or StressConfig()
    corpus = dict(eval_set.corpus)
    headlines = {doc_id: Document(doc_id, text=headline(doc)) for doc_id, doc in corpus.items()}
    bm25 = BM25Retriever()
    bm25.index(headlines)
    headline_terms = {doc_id: set(tokenize(doc.text)) for doc_id, doc in headlines.items()}
    doc_freq = Counter(t for terms in headline_terms.values() for t in terms)
    judged_pos = {qid: sorted((d for d, g in judged.items() if g > 0), key=lambda d: (-judged[d], d))
                  for qid, judged in eval_set.qrels.items()}
    focus = {qid: pos[0] for qid, pos in judged_pos.items() if pos and pos[0] in corpus}
    hits = bm25.search({qid: headlines[p].text for qid, p in focus.items()}, k=cfg.search_depth + 1) \
        if cfg.neighbours else Run("bm25", {})
    dup = DuplicateChecker(lambda d: corpus[d].full_text, cfg.near_duplicate_threshold, cfg.shingle_size)

    distractors: list[Distractor] = []
    queries: dict[str, Query] = {}
    counts = {"queries": len(focus), TREATED: 0, CONTROL: 0, "no_neighbour": 0, "no_swap": 0}
    for qid, pos_id in focus.items():
        rng = random.Random(f"{cfg.seed}:stress:{qid}")
        treated = cfg.swaps > 0 and rng.random() < cfg.swap_share
        query = eval_set.queries[qid]
        queries[qid] = Query(qid, query.text, {**query.metadata, "distractors": TREATED if treated else CONTROL})
        counts[TREATED if treated else CONTROL] += 1
        pos_terms = headline_terms[pos_id]
        neighbours: list[Distractor] = []
        if cfg.neighbours:
            ranked = [(d, s) for d, s in hits.results.get(qid, []) if d != pos_id and d not in judged_pos[qid]]
            dup.prepare([pos_id, *judged_pos[qid], *(d for d, _ in ranked)])
            verdicts = dup.check_many([d for d, _ in ranked], judged_pos[qid]) if ranked else []
            for (doc_id, score), verdict in zip(ranked, verdicts):
                shared = pos_terms & headline_terms[doc_id]
                if verdict is not None or len(shared) < max(1, cfg.min_shared_terms):
                    continue
                neighbours.append(Distractor(qid, pos_id, doc_id, TITLE_NEIGHBOUR,
                                             shared_terms=_rarest_first(shared, doc_freq), title_score=round(score, 4)))
                if len(neighbours) == cfg.neighbours:
                    break
            counts["no_neighbour"] += not neighbours
        distractors += neighbours
        if treated:
            swapped = _swapped_copies(qid, query.text, corpus[pos_id], neighbours, corpus, judged_pos[qid], cfg, rng)
            counts["no_swap"] += not swapped
            for doc, made in swapped:
                corpus[doc.doc_id] = doc
                distractors.append(made)
    by_kind = {kind: sum(d.kind == kind for d in distractors) for kind in KINDS}
    stats = {"source": eval_set.name, "documents": len(corpus), "added_documents": len(corpus) - len(eval_set.corpus),
             "distractors": by_kind, "queries": counts}
    qrels = {qid: dict(eval_set.qrels[qid]) for qid in queries}
    return StressSet(EvalSet(f"{eval_set.name}+distractors", corpus, queries, qrels), distractors, cfg, split, stats)


def _rarest_first(terms: Iterable[str], doc_freq: Mapping[str, int]) -> list[str]:
    return sorted(terms, key=lambda t: (doc_freq.get(t, 0), t))


def _swapped_copies(qid: str, query: str, positive: Document, neighbours: list[Distractor],
                    corpus: Mapping[str, Document], judged: list[str], cfg: StressConfig,
                    rng: random.Random) -> list[tuple[Document, Distractor]]:
    sentences = split_sentences(positive.text)
    if len(sentences) <= cfg.swap_sentences:
        return []
    query_terms = set(tokenize(query))
    order = sorted(range(len(sentences)), key=lambda i: (-_overlap(sentences[i], query_terms), i))
    key = sorted(order[:cfg.swap_sentences])
    # Donors: the title neighbours first (same topic, so the copy still reads naturally), then seeded
    # random documents; never a judged positive of the query.
    donors = [n.doc_id for n in neighbours]
    pool = [d for d in corpus if d not in judged and d != positive.doc_id]
    out = []
    for k in range(1, cfg.swaps + 1):
        donor_id = donors[(k - 1) % len(donors)] if donors else None
        donor_sentences = split_sentences(corpus[donor_id].text) if donor_id else []
        tries = 0
        while len(donor_sentences) < len(key) and pool and tries < 20:
            donor_id = rng.choice(pool)
            donor_sentences = split_sentences(corpus[donor_id].text)
            tries += 1
        if len(donor_sentences) < len(key):
            continue
        # The donor sentences that share the fewest query terms, so the copy does not regain the answer.
        ranked = sorted(range(len(donor_sentences)), key=lambda i: (_overlap(donor_sentences[i], query_terms), i))
        inserted = [donor_sentences[i] for i in sorted(rng.sample(ranked[:max(len(key), 3)], len(key)))]
        text = list(sentences)
        for slot, sentence in zip(key, inserted):
            text[slot] = sentence
        doc_id = _unique_id(f"{positive.doc_id}#swap{k}", corpus)
        doc = Document(doc_id, positive.title, " ".join(text),
                       {"distractor": SENTENCE_SWAP, "of": positive.doc_id})
        out.append((doc, Distractor(qid, positive.doc_id, doc_id, SENTENCE_SWAP, donor_id=donor_id,
                                    removed=[sentences[i] for i in key], inserted=inserted)))
    return out


def read_manifest(path: str | Path) -> list[Distractor]:
    """The distractors of a ``distractors.jsonl`` written by :meth:`StressSet.write`."""
    from rerank_fix.data.jsonl import read_jsonl

    return [Distractor(**{k: v for k, v in obj.items() if k in Distractor.__dataclass_fields__})
            for _, obj in read_jsonl(Path(path), "distractor manifest")]


def distractor_outranking(run: Run, qrels: Mapping[str, Mapping[str, int]], distractors: Iterable[Distractor],
                          depth: int = 50) -> dict[str, dict[str, Any]]:
    """Per query: which distractors sit in the run's top ``depth`` and whether one outranks every positive.

    A distractor "outranks" when it is ranked above the query's best-ranked positive within the top ``depth``
    (or when no positive is there at all but the distractor is).

    Returns:
        ``query_id -> {"in_list": {kind: n}, "above": {kind: n}, "outranked": {kind: bool}, "best_positive": rank}``
        for every query with a distractor; ranks are 1-based, ``None`` when absent from the top ``depth``.

    Example:
        >>> run = Run.from_scores("r", {"q": {"d": 3.0, "p": 2.0, "x": 1.0}})
        >>> row = distractor_outranking(run, {"q": {"p": 1}}, [Distractor("q", "p", "d", "title-neighbour")])["q"]
        >>> row["outranked"], row["best_positive"]
        ({'title-neighbour': True}, 2)
    """
    by_query: dict[str, list[Distractor]] = {}
    for d in distractors:
        by_query.setdefault(d.query_id, []).append(d)
    out: dict[str, dict[str, Any]] = {}
    for qid, items in by_query.items():
        ranked = run.ranked_ids(qid, depth)
        rank = {doc_id: i for i, doc_id in enumerate(ranked, start=1)}
        positives = [rank[d] for d, g in qrels.get(qid, {}).items() if g > 0 and d in rank]
        best = min(positives) if positives else None
        row: dict[str, Any] = {"in_list": {}, "above": {}, "outranked": {}, "best_positive": best}
        for kind in sorted({d.kind for d in items}):
            ranks = [rank[d.doc_id] for d in items if d.kind == kind and d.doc_id in rank]
            above = [r for r in ranks if best is None or r < best]
            row["in_list"][kind] = len(ranks)
            row["above"][kind] = len(above)
            row["outranked"][kind] = bool(above)
        out[qid] = row
    return out


def outranking_summary(per_query: Mapping[str, Mapping[str, Any]],
                       groups: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows of ``{group, kind, queries, in_list, outranked, rate}`` from :func:`distractor_outranking`.

    ``queries`` counts the queries with a distractor of that kind in the list; ``rate`` is the share of them in
    which one outranks every positive. ``groups`` (``query_id -> label``) adds a row per label; ``all`` is
    always there.

    Example:
        >>> outranking_summary({"q": {"in_list": {"k": 1}, "above": {"k": 1}, "outranked": {"k": True}}})[0]["rate"]
        1.0
    """
    rows = []
    labels = {"all": list(per_query)}
    for qid, label in (groups or {}).items():
        if qid in per_query:
            labels.setdefault(label, []).append(qid)
    kinds = sorted({k for row in per_query.values() for k in row["in_list"]})
    for label, qids in labels.items():
        for kind in kinds:
            present = [q for q in qids if per_query[q]["in_list"].get(kind, 0) > 0]
            outranked = sum(per_query[q]["outranked"][kind] for q in present)
            rows.append({"group": label, "kind": kind, "queries": len(present),
                         "in_list": sum(per_query[q]["in_list"][kind] for q in present),
                         "outranked": outranked, "rate": outranked / len(present) if present else None})
    return rows
