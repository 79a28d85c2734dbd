"""Hard-negative mining with false-negative filtering.

For every training query: retrieve the top ``range_max`` documents (dense, BM25 or hybrid), look only at
the ranks ``range_min + 1 .. range_max``, remove the judged positives, and pass each remaining candidate
through the false-negative checks, in this order (a candidate is counted under the first check it fails):

1. ``exact_duplicate`` / ``near_duplicate``: same normalised text as a positive, or word-shingle Jaccard
   similarity to a positive at or above ``near_duplicate_threshold``;
2. ``absolute_margin`` / ``relative_margin`` / ``max_score``: the bi-encoder finds the candidate about as
   similar to the query as the least similar positive (sentence-transformers' rule), or above a ceiling;
   ``min_score`` (too easy) sits here too but is a selection setting, active even with the filter off;
3. ``teacher``: a cross-encoder gives the candidate at least ``teacher_fraction`` of the positive's
   probability (sigmoid of the logit, see :mod:`rerank_fix.mine.teacher`).

Documents judged non-relevant (grade 0) are known negatives and bypass the false-negative checks.
Negatives are the first ``negatives`` survivors in rank order (``top``) or in a seeded random order
(``random``: a uniform sample of the survivors). The teacher, the expensive check, is run lazily over
whole query blocks: it scores only as many survivors of the cheap checks as a query still needs, plus
a little slack, in as few calls as possible.
"""
from __future__ import annotations

import itertools
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np

from rerank_fix.core.types import Document, EvalSet
from rerank_fix.errors import DataError
from rerank_fix.mine.config import MineConfig
from rerank_fix.mine.dedup import DuplicateChecker
from rerank_fix.mine.audit import SUSPECT_REASONS, Suspect
from rerank_fix.mine.teacher import TeacherScorer, make_teacher, teacher_rejects

if TYPE_CHECKING:
    from rerank_fix.retrieve.dense import DenseRetriever

logger = logging.getLogger("rerank_fix.mine")

DROP_REASONS = ("exact_duplicate", "near_duplicate", "absolute_margin", "relative_margin", "max_score",
                "min_score", "teacher")


@dataclass
class MinedQuery:
    """The mined negatives of one training query (ids, not texts; texts come from the corpus).

    Args:
        query_id: Query id (``<id>#typo<k>`` for typo-augmented copies).
        query: Query text.
        pos_ids: Judged relevant documents.
        neg_ids: Mined negatives, best retrieval rank first.
        neg_ranks: 1-based stage-one rank of each negative.
        neg_scores: Stage-one score of each negative (cosine, BM25 or RRF, per the retriever).
        pos_dense / neg_dense: Bi-encoder cosine similarities, when a bi-encoder was used.
        pos_teacher / neg_teacher: Teacher logits, when a teacher was used.
        source_query_id: For a typo copy, the clean query it was made from.
    """

    query_id: str
    query: str
    pos_ids: list[str]
    neg_ids: list[str]
    neg_ranks: list[int]
    neg_scores: list[float]
    pos_dense: list[float] | None = None
    neg_dense: list[float] | None = None
    pos_teacher: list[float] | None = None
    neg_teacher: list[float] | None = None
    source_query_id: str | None = None


@dataclass
class MiningResult:
    """Mined queries, the statistics of the run, and what is needed to write the training files.

    Args:
        records: One :class:`MinedQuery` per query with at least one negative (typo copies included).
        stats: Counts, drop reasons and score summaries (written as ``stats.json``).
        config: The settings used.
        corpus: The corpus the ids refer to.
        rank_histograms: ``kept``, ``not_needed`` (passed, beyond the quota) and each drop reason -> counts
            per 1-based stage-one rank (index = rank).

    Example:
        >>> result = HardNegativeMiner(MineConfig(retriever="bm25")).mine(dataset)  # doctest: +SKIP
        >>> result.write("runs/triples")  # doctest: +SKIP
    """

    records: list[MinedQuery]
    stats: dict[str, Any]
    config: MineConfig
    corpus: Mapping[str, Document]
    rank_histograms: dict[str, np.ndarray] = field(default_factory=dict)
    audit: list[Suspect] | None = None

    def text(self, doc_id: str) -> str:
        return self.corpus[doc_id].full_text

    def triples(self) -> Iterator[tuple[str, str, str]]:
        """``(query, positive text, negative text)`` for every positive x negative of every record."""
        for rec in self.records:
            for pos in rec.pos_ids:
                pos_text = self.text(pos)
                for neg in rec.neg_ids:
                    yield rec.query, pos_text, self.text(neg)

    def samples(self, k: int = 5, seed: int = 0, max_chars: int | None = 200) -> list[dict[str, Any]]:
        """``k`` random (query, positive, negative) triples with ids and ranks, for eyeballing."""
        rng = random.Random(seed)
        pool = [r for r in self.records if r.neg_ids]
        picks = rng.sample(pool, min(k, len(pool)))

        def cut(text: str) -> str:
            return text if max_chars is None or len(text) <= max_chars else text[:max_chars - 1] + "…"

        out = []
        for rec in picks:
            j = rng.randrange(len(rec.neg_ids))
            pos = rec.pos_ids[0]
            neg = rec.neg_ids[j]
            out.append({"query_id": rec.query_id, "query": rec.query, "pos_id": pos, "positive": cut(self.text(pos)),
                        "neg_id": neg, "neg_rank": rec.neg_ranks[j], "negative": cut(self.text(neg))})
        return out

    def write(self, out_dir: "str | Path", plot: bool = True) -> dict[str, str]:
        """Write every output format; see :func:`rerank_fix.mine.writers.write_all`."""
        from rerank_fix.mine.writers import write_all

        return write_all(self, out_dir, plot=plot)


@dataclass
class _QueryState:
    query_id: str
    text: str
    pos_ids: list[str]
    candidates: list[tuple[int, str, float, float | None]]  # (rank, doc_id, stage-one score, dense sim)
    pos_dense: list[float] | None
    need: int
    pointer: int = 0
    pos_prob: float | None = None
    pos_logits: list[float] | None = None
    accepted: list[tuple[int, str, float, float | None, float | None]] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)


class HardNegativeMiner:
    """Mine hard negatives for every judged query of an :class:`EvalSet`.

    Args:
        config: Mining settings (defaults: dense retrieval, window 3:100, 15 negatives, filters on).
        dense: A ready :class:`DenseRetriever` (its model, prefixes and embedding cache are used); built
            from ``config`` when omitted and needed.
        teacher: A :class:`TeacherScorer`, a ``CrossEncoder``, or an id/path; overrides ``config.teacher``.
        show_progress: Progress bar over query blocks.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> from rerank_fix.retrieve.dense import DenseRetriever
        >>> data = load_eval_set("../shared/data/scifact", split="train")  # doctest: +SKIP
        >>> miner = HardNegativeMiner(MineConfig(range_min=3, range_max=100, negatives=15),
        ...                           dense=DenseRetriever(cache_dir="/tmp/emb"))  # doctest: +SKIP
        >>> result = miner.mine(data)  # doctest: +SKIP
        >>> result.stats["candidates"]["dropped"]  # doctest: +SKIP
    """

    def __init__(self, config: MineConfig | None = None, dense: "DenseRetriever | None" = None,
                 teacher: Any = None, show_progress: bool = True) -> None:
        self.config = config or MineConfig()
        self.dense = dense
        self.show_progress = show_progress
        spec = teacher if teacher is not None else self.config.teacher
        self.teacher: TeacherScorer | None = None
        self.audit: list[Suspect] | None = [] if self.config.audit else None
        if spec is not None and not self.config.false_negative_filter and self.config.teacher_filter:
            logger.warning("a teacher was given but the false-negative filter is off; the teacher is not used")
        elif spec is not None:
            self.teacher = make_teacher(spec, self.config)

    def _dense(self) -> "DenseRetriever":
        if self.dense is None:
            from rerank_fix.retrieve import make_retriever

            cfg = self.config
            self.dense = make_retriever("dense", model=cfg.model, batch_size=cfg.batch_size, cache_dir=cfg.cache_dir,
                                        query_prefix=cfg.query_prefix, doc_prefix=cfg.doc_prefix,
                                        show_progress=self.show_progress, device=cfg.device)
        return self.dense

    def mine(self, data: EvalSet) -> MiningResult:
        """Mine negatives for every query of ``data`` that has a judged positive."""
        from tqdm.auto import tqdm

        from rerank_fix.mine.candidates import CandidateSource

        cfg = self.config
        started = time.perf_counter()
        positives, judged_negatives, skipped_no_positive = _judgements(data)
        query_ids = list(positives)
        counts = _Counters(cfg.range_max)
        counts.queries_total = len(data.qrels)
        counts.skipped_no_positive = skipped_no_positive
        if not query_ids:
            raise DataError(f"{data.name}: no query has a relevant document (grade > 0); nothing to mine")

        bm25 = None
        if cfg.retriever in ("bm25", "hybrid"):
            from rerank_fix.retrieve import make_retriever

            bm25 = make_retriever("bm25", k1=cfg.bm25_k1, b=cfg.bm25_b)
        source = CandidateSource(data.corpus, cfg.retriever, cfg.range_max,
                                 dense=self._dense() if cfg.needs_dense else None, bm25=bm25, rrf_k=cfg.rrf_k)
        logger.info("mining %d queries over %d documents (%s retrieval, window %d:%d)", len(query_ids),
                    len(data.corpus), cfg.retriever, cfg.range_min, cfg.range_max)
        source.prepare()
        dedup = (DuplicateChecker(lambda d: data.corpus[d].full_text, cfg.near_duplicate_threshold, cfg.shingle_size)
                 if cfg.false_negative_filter and cfg.duplicate_check else None)

        records: list[MinedQuery] = []
        blocks = range(0, len(query_ids), cfg.query_block)
        for start in tqdm(blocks, desc="mining", unit="block", disable=not self.show_progress):
            block_ids = query_ids[start:start + cfg.query_block]
            block = source.retrieve({qid: data.queries[qid].text for qid in block_ids})
            if dedup is not None:
                # One batch per block: fingerprinting cost then scales with documents, not candidates.
                dedup.prepare(itertools.chain.from_iterable(
                    [*positives[qid], *(d for d, _ in block.rankings[qid][cfg.range_min:cfg.range_max])]
                    for qid in block_ids))
            states = []
            for i, qid in enumerate(block_ids):
                qvec = block.query_vectors[i] if block.query_vectors is not None else None
                state = self._screen(qid, data.queries[qid].text, positives[qid], judged_negatives.get(qid, set()),
                                     block.rankings[qid], qvec, source, dedup, counts)
                if state is not None:
                    states.append(state)
            if self.teacher is not None:
                self._teacher_pass(states, data.corpus, counts)
            else:
                for state in states:
                    state.accepted = [(*c, None) for c in state.candidates[:state.need]]
                    state.need -= len(state.accepted)
            for state in states:
                taken = {a[1] for a in state.accepted} | state.rejected
                counts.not_needed([c[0] for c in state.candidates if c[1] not in taken])
                record = _record(state, self.teacher is not None)
                counts.add_record(record, cfg.negatives)
                if record.neg_ids:
                    records.append(record)

        if counts.empty:
            logger.warning(
                "%d of %d queries got no negative: every candidate in the window %d:%d failed a check. With the "
                "margin check this happens when a query's least similar positive scores below all its "
                "candidates (the bi-encoder misses that positive); widen --range, lower --relative-margin, or "
                "rely on a --teacher instead", counts.empty, len(query_ids), cfg.range_min, cfg.range_max)
        if cfg.typo_rate > 0:
            records = _with_typo_copies(records, cfg, counts)
        stats = counts.as_stats(cfg, data, time.perf_counter() - started, self.teacher,
                                source.dense.encoded_count if source.dense is not None else 0)
        return MiningResult(records, stats, cfg, data.corpus, counts.histograms(), audit=self.audit)

    def _screen(self, qid: str, text: str, pos_ids: list[str], known_negatives: set[str],
                ranking: list[tuple[str, float]], qvec: np.ndarray | None, source: Any,
                dedup: DuplicateChecker | None, counts: "_Counters") -> _QueryState | None:
        """Apply every check except the teacher to the whole window; return the survivors in sampling order."""
        cfg = self.config
        if not ranking:
            counts.no_candidates += 1
            return None
        pos_set = set(pos_ids)
        window = ranking[cfg.range_min:cfg.range_max]
        counts.in_window += len(window)
        ranks = [r for r, (d, _) in enumerate(window, start=cfg.range_min + 1) if d not in pos_set]
        counts.positives_in_window += len(window) - len(ranks)
        cands = [window[r - cfg.range_min - 1] for r in ranks]
        doc_ids = [d for d, _ in cands]
        reasons, sims, pos_sims = self._reasons(doc_ids, pos_ids, known_negatives, qvec, source, dedup)
        survivors = []
        pos_ref = None if pos_sims is None else float(np.min(pos_sims))
        for i, (rank, (doc_id, score)) in enumerate(zip(ranks, cands)):
            reason = reasons[i]
            if reason is not None:
                counts.drop(reason, rank)
                if self.audit is not None and reason in SUSPECT_REASONS:
                    self.audit.append(Suspect(qid, text, doc_id, rank, reason, float(score),
                                              None if sims is None else float(sims[i]), pos_ref,
                                              positive_ids=tuple(pos_ids)))
                continue
            if doc_id in known_negatives:
                counts.judged_negatives += 1
            survivors.append((rank, doc_id, score, None if sims is None else float(sims[i])))
        if cfg.sampling == "random":
            random.Random(f"{cfg.seed}:sample:{qid}").shuffle(survivors)
        pos_dense = None if pos_sims is None else [float(x) for x in pos_sims]
        return _QueryState(qid, text, pos_ids, survivors, pos_dense, need=cfg.negatives)

    def _reasons(self, doc_ids: list[str], pos_ids: list[str], known_negatives: set[str], qvec: np.ndarray | None,
                 source: Any, dedup: DuplicateChecker | None
                 ) -> tuple[list[str | None], np.ndarray | None, np.ndarray | None]:
        """The first failed check of each candidate (``None``: passed), checks vectorised over the window;
        also the bi-encoder similarities of the candidates and of the positives (``None`` without one).

        Order: duplicates, bi-encoder margins, ``max_score``, then ``min_score``. Documents judged
        non-relevant skip the false-negative checks (their label is known).
        """
        cfg = self.config
        n = len(doc_ids)
        first: list[str | None] = [None] * n
        sims = pos_sims = None
        if qvec is not None:
            all_sims = source.similarities(qvec, doc_ids + pos_ids)
            sims, pos_sims = all_sims[:n], all_sims[n:]
        checks: list[tuple[str, np.ndarray]] = []
        if sims is not None and cfg.false_negative_filter:
            # The least similar positive is the reference: every positive must beat its negatives.
            pos_ref = float(pos_sims.min())
            if cfg.absolute_margin is not None:
                checks.append(("absolute_margin", sims > pos_ref - cfg.absolute_margin))
            if cfg.relative_margin is not None:
                # |pos| keeps the threshold below the positive even when similarities are negative
                # (sentence-transformers #3819).
                checks.append(("relative_margin", sims > pos_ref - abs(pos_ref) * cfg.relative_margin))
            if cfg.max_score is not None:
                checks.append(("max_score", sims > cfg.max_score))
        exempt = np.fromiter((d in known_negatives for d in doc_ids), dtype=bool, count=n) if known_negatives \
            else np.zeros(n, dtype=bool)
        checks = [(name, mask & ~exempt) for name, mask in checks]
        if sims is not None and cfg.min_score is not None:
            checks.append(("min_score", sims < cfg.min_score))
        if dedup is not None:
            todo = [i for i in range(n) if not exempt[i]]
            for i, verdict in zip(todo, dedup.check_many([doc_ids[i] for i in todo], pos_ids)):
                first[i] = verdict
        for name, mask in checks:
            for i in np.flatnonzero(mask).tolist():
                if first[i] is None:
                    first[i] = name
        return first, sims, pos_sims

    def _teacher_pass(self, states: list[_QueryState], corpus: Mapping[str, Document], counts: "_Counters") -> None:
        """Teacher-score survivors lazily: each round scores, for every query still short of negatives,
        its next ``need + slack`` survivors, all queries' pairs in one call."""
        assert self.teacher is not None
        cfg = self.config
        pos_pairs = [(s.text, corpus[p].full_text) for s in states for p in s.pos_ids]
        logits, probs = self.teacher.probabilities(pos_pairs)
        offset = 0
        for s in states:
            n = len(s.pos_ids)
            s.pos_logits = [float(x) for x in logits[offset:offset + n]]
            s.pos_prob = float(np.min(probs[offset:offset + n]))
            offset += n
        counts.teacher_positive_probs.extend(float(p) for p in probs)
        while True:
            owners: list[tuple[_QueryState, tuple[int, str, float, float | None]]] = []
            for s in states:
                if s.need <= 0 or s.pointer >= len(s.candidates):
                    continue
                take = s.candidates[s.pointer:s.pointer + s.need + max(2, math.ceil(s.need / 2))]
                s.pointer += len(take)
                owners.extend((s, c) for c in take)
            if not owners:
                break
            logits, probs = self.teacher.probabilities([(s.text, corpus[c[1]].full_text) for s, c in owners])
            counts.teacher_scored += len(owners)
            rejected = teacher_rejects(probs, np.array([s.pos_prob for s, _ in owners]), cfg.teacher_fraction)
            if not cfg.teacher_filter:
                rejected = np.zeros(len(owners), dtype=bool)  # scores recorded for distillation only
            for (s, cand), logit, prob, reject in zip(owners, logits, probs, rejected):
                if reject:
                    counts.drop("teacher", cand[0])
                    s.rejected.add(cand[1])
                    if self.audit is not None:
                        self.audit.append(Suspect(s.query_id, s.text, cand[1], cand[0], "teacher", float(cand[2]),
                                                  cand[3], None if s.pos_dense is None else min(s.pos_dense),
                                                  float(prob), s.pos_prob, tuple(s.pos_ids)))
                elif s.need > 0:
                    s.accepted.append((*cand, float(logit)))
                    s.need -= 1


def _judgements(data: EvalSet) -> tuple[dict[str, list[str]], dict[str, set[str]], int]:
    positives: dict[str, list[str]] = {}
    negatives: dict[str, set[str]] = {}
    skipped = 0
    missing: list[tuple[str, str]] = []
    for qid, judged in data.qrels.items():
        pos = [d for d, g in judged.items() if g > 0]
        missing.extend((qid, d) for d in pos if d not in data.corpus)
        if qid not in data.queries:
            raise DataError(f"{data.name}: judged query {qid!r} has no query text; add it to the queries")
        if not pos:
            skipped += 1
            continue
        positives[qid] = pos
        # A judged non-relevant document missing from the corpus can never be retrieved: harmless.
        negatives[qid] = {d for d, g in judged.items() if g <= 0 and d in data.corpus}
    if missing:
        qid, doc_id = missing[0]
        more = f" ({len(missing) - 1} more positives are missing too)" if len(missing) > 1 else ""
        raise DataError(f"{data.name}: positive document {doc_id!r} of query {qid!r} is not in the corpus{more}; "
                        "a positive must be in the corpus so it is never drawn as a negative: add it or fix the id")
    if skipped:
        logger.warning("%s: %d queries have no relevant document (grade > 0) and are skipped", data.name, skipped)
    return positives, negatives, skipped


def _record(state: _QueryState, with_teacher: bool) -> MinedQuery:
    accepted = sorted(state.accepted)  # rank order, also after random sampling
    dense = state.pos_dense is not None
    return MinedQuery(
        query_id=state.query_id, query=state.text, pos_ids=list(state.pos_ids),
        neg_ids=[a[1] for a in accepted], neg_ranks=[a[0] for a in accepted],
        neg_scores=[float(a[2]) for a in accepted],
        pos_dense=[float(x) for x in state.pos_dense] if dense else None,  # type: ignore[union-attr]
        neg_dense=[float(a[3]) for a in accepted] if dense else None,  # type: ignore[arg-type]
        pos_teacher=state.pos_logits if with_teacher else None,
        neg_teacher=[float(a[4]) for a in accepted] if with_teacher else None,  # type: ignore[arg-type]
    )


def _with_typo_copies(records: list[MinedQuery], cfg: MineConfig, counts: "_Counters") -> list[MinedQuery]:
    from rerank_fix.core.typos import typo_variants

    by_id = {r.query_id: r for r in records}
    out = list(records)
    for new_id, source_id, text in typo_variants({r.query_id: r.query for r in records}, cfg.typo_rate,
                                                 cfg.typo_copies, cfg.seed):
        src = by_id[source_id]
        out.append(MinedQuery(new_id, text, list(src.pos_ids), list(src.neg_ids), list(src.neg_ranks),
                              list(src.neg_scores), src.pos_dense, src.neg_dense, src.pos_teacher, src.neg_teacher,
                              source_query_id=source_id))
        counts.typo_queries += 1
    return out


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    return {"count": int(arr.size), "mean": float(arr.mean()), "std": float(arr.std()), "min": float(arr.min()),
            "p25": float(np.percentile(arr, 25)), "median": float(np.median(arr)),
            "p75": float(np.percentile(arr, 75)), "max": float(arr.max())}


class _Counters:
    """Running totals; per-rank histograms are fixed-size arrays so memory does not grow with queries."""

    def __init__(self, range_max: int) -> None:
        self.queries_total = 0
        self.skipped_no_positive = 0
        self.no_candidates = 0
        self.in_window = 0
        self.positives_in_window = 0
        self.judged_negatives = 0
        self.teacher_scored = 0
        self.typo_queries = 0
        self.dropped = {r: 0 for r in DROP_REASONS}
        self._ranks = {r: np.zeros(range_max + 1, dtype=np.int64) for r in ("kept", "not_needed", *DROP_REASONS)}
        self.mined_queries = 0
        self.full = 0
        self.short = 0
        self.empty = 0
        self.emitted = 0
        self.neg_ranks: list[int] = []
        self.neg_scores: list[float] = []
        self.neg_dense: list[float] = []
        self.pos_dense: list[float] = []
        self.neg_teacher: list[float] = []
        self.pos_teacher: list[float] = []
        self.teacher_positive_probs: list[float] = []
        self.positives = 0

    def drop(self, reason: str, rank: int) -> None:
        self.dropped[reason] += 1
        self._ranks[reason][rank] += 1

    def not_needed(self, ranks: list[int]) -> None:
        np.add.at(self._ranks["not_needed"], np.asarray(ranks, dtype=np.int64), 1)

    def add_record(self, rec: MinedQuery, wanted: int) -> None:
        n = len(rec.neg_ids)
        self.mined_queries += 1
        self.positives += len(rec.pos_ids)
        self.emitted += n
        self.full += n >= wanted
        self.short += 0 < n < wanted
        self.empty += n == 0
        for rank in rec.neg_ranks:
            self._ranks["kept"][rank] += 1
        self.neg_ranks.extend(rec.neg_ranks)
        self.neg_scores.extend(rec.neg_scores)
        self.neg_dense.extend(rec.neg_dense or [])
        self.pos_dense.extend(rec.pos_dense or [])
        self.neg_teacher.extend(rec.neg_teacher or [])
        self.pos_teacher.extend(rec.pos_teacher or [])

    def histograms(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._ranks.items()}

    def as_stats(self, cfg: MineConfig, data: EvalSet, elapsed: float, teacher: TeacherScorer | None,
                 encoded: int) -> dict[str, Any]:
        candidates = self.in_window - self.positives_in_window
        dropped_total = sum(self.dropped.values())
        share = {r: (n / candidates if candidates else 0.0) for r, n in self.dropped.items()}
        return {
            "data": {"name": data.name, "documents": len(data.corpus), "judged_queries": self.queries_total},
            "settings": cfg.model_dump(mode="json"),
            "queries": {
                "total": self.queries_total,
                "skipped_no_positive": self.skipped_no_positive,
                "skipped_no_candidates": self.no_candidates,
                "with_all_negatives": self.full,
                "with_fewer_negatives": self.short,
                "with_no_negatives": self.empty,
                "emitted": self.full + self.short,
                "typo_copies": self.typo_queries,
            },
            "candidates": {
                "in_window": self.in_window,
                "positives_in_window": self.positives_in_window,
                "negative_candidates": candidates,
                "judged_negatives_used": self.judged_negatives,
                "dropped": dict(self.dropped),
                "dropped_total": dropped_total,
                "dropped_share": share,
                "dropped_share_total": dropped_total / candidates if candidates else 0.0,
                "teacher_scored": self.teacher_scored,
                "teacher_dropped_share_of_scored": (self.dropped["teacher"] / self.teacher_scored
                                                    if self.teacher_scored else None),
                "emitted": self.emitted,
                "passed_but_not_needed": candidates - dropped_total - self.emitted,
            },
            "negatives": {
                "emitted": self.emitted,
                "per_query_mean": self.emitted / self.mined_queries if self.mined_queries else 0.0,
                "rank": _summary([float(r) for r in self.neg_ranks]),
                "stage_one_score": _summary(self.neg_scores),
                "dense_similarity": _summary(self.neg_dense),
                "teacher_logit": _summary(self.neg_teacher),
            },
            "positives": {
                "count": self.positives,
                "dense_similarity": _summary(self.pos_dense),
                "teacher_logit": _summary(self.pos_teacher),
            },
            "teacher": None if teacher is None else {"model": teacher.name, "pairs_scored": teacher.scored_pairs,
                                                     "rule": f"drop if sigmoid(neg) >= {cfg.teacher_fraction} * "
                                                             "sigmoid(least relevant positive)"},
            "texts_encoded": encoded,
            "elapsed_s": round(elapsed, 3),
        }
