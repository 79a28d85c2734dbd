"""RRF parity with ranx, and cross-validated tuning that never looks at the fold it scores."""
from __future__ import annotations

import pytest

from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.metrics import per_query
from rerank_fix.fuse.rrf import reciprocal_rank_fusion
from rerank_fix.pipeline.tuning import cv_tune_rrf, fusion_grid, make_folds
from rerank_fix.retrieve.bm25 import BM25Retriever
from rerank_fix.core.run import Run


@pytest.fixture(scope="module")
def demo():
    return load_eval_set("demo", "test")


@pytest.fixture(scope="module")
def stage_one(demo):
    """Real BM25 runs with two different settings: the two inputs of a fusion."""
    runs = []
    for k1, b in ((0.9, 0.4), (1.5, 0.9)):
        bm25 = BM25Retriever(k1=k1, b=b)
        bm25.index(demo.corpus)
        runs.append(bm25.search(demo.query_texts, k=50).renamed(f"bm25-{k1}-{b}"))
    return runs


def _untied(run: Run) -> Run:
    # ranx and rerank_fix may order tied scores differently; rank-derived scores remove ties so both
    # libraries see the same ranks and the comparison tests the fusion, not a tie-breaking convention.
    return Run(run.name, {q: [(d, 1.0 / r) for r, (d, _) in enumerate(items, start=1)]
                          for q, items in run.results.items()})


def test_rrf_equals_ranx(stage_one):
    ranx = pytest.importorskip("ranx")
    a, b = (_untied(r) for r in stage_one)
    ours = reciprocal_rank_fusion([a, b], k=60)
    theirs = ranx.fuse([ranx.Run(a.to_scores(), name="a"), ranx.Run(b.to_scores(), name="b")],
                       method="rrf", params={"k": 60}).to_dict()
    assert set(ours.results) == set(theirs)
    compared = 0
    for qid, items in ours.results.items():
        assert dict(items) == pytest.approx(theirs[qid], abs=1e-12)
        ranked_theirs = sorted(theirs[qid], key=lambda d: (theirs[qid][d], d), reverse=True)
        assert [d for d, _ in items] == ranked_theirs
        compared += len(items)
    assert compared > 1000


def test_weighted_rrf_zero_weight_keeps_first_run_order(stage_one):
    a, b = stage_one
    fused = reciprocal_rank_fusion([a, b], k=60, weights=[1.0, 0.0])
    for qid in a.results:
        # b's documents score 0 and trail; a's keep exactly their order.
        assert fused.ranked_ids(qid)[:len(a.results[qid])] == a.ranked_ids(qid)


def test_folds_cover_queries_once_and_keep_groups_together():
    qids = [f"{s}::{i}" for s in ("clean", "typo") for i in range(23)]
    groups = {q: q.split("::")[1] for q in qids}
    folds = make_folds(qids, 5, seed=3, groups=groups)
    assert sorted(q for f in folds for q in f) == sorted(qids)
    for fold in folds:
        ids = {groups[q] for q in fold}
        assert all(f"clean::{i}" in fold and f"typo::{i}" in fold for i in ids)
    assert make_folds(qids, 5, seed=3, groups=groups) == folds
    with pytest.raises(ConfigError, match="at least 5 queries"):
        make_folds(["a", "b"], 5)


def test_cv_tuning_never_uses_the_scored_folds_judgements(demo, stage_one):
    a, b = stage_one
    qids = list(demo.qrels)
    folds = make_folds(qids, 4, seed=0)
    grid = fusion_grid(2, "tune", "tune", [0.0, 0.3, 1.0, 2.0], [10, 60])
    tuned = cv_tune_rrf([a, b], demo.qrels, folds, grid, "ndcg@10", top_k=50)
    # Every query is fused with its own fold's choice.
    for choice, fold in zip(tuned.folds, folds):
        expected = reciprocal_rank_fusion([a, b], k=choice.params.k, weights=choice.params.weights)
        for q in fold[:5]:
            assert tuned.run.ranked_ids(q) == expected.ranked_ids(q)[:50]
    # Scrambling fold 0's judgements cannot change the values fold 0 is scored with.
    scrambled = {q: ({"no-such-doc": 1} if q in set(folds[0]) else judged) for q, judged in demo.qrels.items()}
    again = cv_tune_rrf([a, b], scrambled, folds, grid, "ndcg@10", top_k=50)
    assert again.folds[0].params == tuned.folds[0].params
    assert again.run.results[folds[0][0]] == tuned.run.results[folds[0][0]]


def test_cv_tuning_recovers_from_a_useless_run(demo, stage_one):
    """Fusing a good run with noise: plain RRF suffers, tuned weights switch the noise off."""
    good = stage_one[0]
    noise = Run("noise", {q: [(d, float(i)) for i, d in enumerate(sorted(demo.corpus)[:50])] for q in demo.qrels})
    plain = reciprocal_rank_fusion([good, noise], k=60)
    folds = make_folds(list(demo.qrels), 5, seed=0)
    tuned = cv_tune_rrf([good, noise], demo.qrels, folds, fusion_grid(2, "tune", 60, [0.0, 0.5, 1.0], [60]),
                        "ndcg@10")

    def mean(run):
        values = per_query(run, demo.qrels, ["ndcg@10"])["ndcg@10"]
        return sum(values.values()) / len(values)

    assert mean(plain) < mean(good) - 0.05
    assert mean(tuned.run) == pytest.approx(mean(good), abs=1e-9)
    assert all(f.params.weights == (1.0, 0.0) for f in tuned.folds)
