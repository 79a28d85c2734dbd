"""Cross-encoder pairs of a per-stratum depth policy, checked against a count by hand."""
from __future__ import annotations

import pytest

from rerank_fix.core.run import Run
from rerank_fix.evaluate.stats import Estimate
from rerank_fix.fix.candidates import BLEND, RERANK, STAGE_ONE, Candidate
from rerank_fix.fix.depth import depth_pairs, policy_pairs

BM25 = Candidate("bm25", [{"bm25": {}}], STAGE_ONE)
TOP2 = Candidate("bm25+ce-top2", [], RERANK, base="bm25", reranker="ce", depth=2)
TOP4 = Candidate("bm25+ce-top4", [], RERANK, base="bm25", reranker="ce", depth=4)
TOP4_BLEND = Candidate("bm25+ce-top4-blend", [], BLEND, base="bm25", reranker="ce", depth=4, alone="bm25+ce-top4")
CANDIDATES = [BM25, TOP2, TOP4, TOP4_BLEND]
# Stage one returns 5, 3, 1 and 0 documents for q1..q4.
RUNS = {"bm25": Run("bm25", {"q1": [(f"d{i}", 5.0 - i) for i in range(5)],
                             "q2": [(f"d{i}", 3.0 - i) for i in range(3)],
                             "q3": [("d0", 1.0)], "q4": []})}
NDCG = {"bm25": {"q1": 0.2, "q2": 0.5, "q3": 0.9, "q4": 0.0},
        "bm25+ce-top2": {"q1": 0.4, "q2": 0.7, "q3": 0.9, "q4": 0.0},
        "bm25+ce-top4": {"q1": 0.6, "q2": 0.6, "q3": 0.9, "q4": 0.0},
        "bm25+ce-top4-blend": {"q1": 0.7, "q2": 0.6, "q3": 0.9, "q4": 0.0}}


def mean(values):
    return sum(values) / len(values)


def estimates():
    return {name: Estimate(mean(list(v.values())), float("nan"), float("nan"), 4) for name, v in NDCG.items()}


def test_policy_pairs_by_hand():
    choices = {"q1": "bm25+ce-top4", "q2": "bm25+ce-top2", "q3": "bm25", "q4": "bm25+ce-top4-blend"}
    # q1: min(4, 5) = 4; q2: min(2, 3) = 2; q3: stage one only = 0; q4: min(4, 0) = 0.
    assert policy_pairs(choices, {c.name: c for c in CANDIDATES}, RUNS) == {"q1": 4, "q2": 2, "q3": 0, "q4": 0}


def test_depth_pairs_against_every_query_at_the_deepest_depth():
    choices = {"q1": "bm25+ce-top4-blend", "q2": "bm25+ce-top2", "q3": "bm25", "q4": "bm25"}
    policy_scores = {"q1": 0.7, "q2": 0.7, "q3": 0.9, "q4": 0.0}
    cv_choices = {"q1": "bm25+ce-top4", "q2": "bm25+ce-top4", "q3": "bm25+ce-top2", "q4": "bm25"}
    recommended = {q: "bm25" for q in choices}  # a guarantee failed: the baseline for every query
    result = depth_pairs(CANDIDATES, RUNS, choices, cv_choices, recommended, policy_scores,
                         Estimate(mean(list(policy_scores.values())), float("nan"), float("nan"), 4), NDCG,
                         estimates(), n_resamples=200)
    assert result.policy_pairs == 4 + 2 + 0 + 0
    assert result.cv_policy_pairs == 4 + 3 + 1 + 0
    assert result.recommended_pairs == 0 and "the recommendation scores 0" in result.sentence()
    assert result.queries_by_depth == {4: 1, 2: 1, 0: 2}
    # Deepest depth (4): the blend scores best there (0.55 against 0.525), and best of all candidates.
    [deepest] = result.fixed
    assert deepest.candidate == "bm25+ce-top4-blend" and "best single" in deepest.role
    assert deepest.pairs == 4 + 3 + 1 + 0 and result.saved(deepest) == 2
    assert deepest.delta.mean == pytest.approx(mean([0.0, 0.1, 0.0, 0.0]))
    data = result.as_dict()
    assert data["fixed"][0]["pairs_saved"] == 2 and data["queries_by_depth"] == {"0": 2, "2": 1, "4": 1}
    assert "8 for bm25+ce-top4-blend on every query" in result.sentence() and "25% saved" in result.sentence()


def test_best_single_depth_listed_when_it_is_not_the_deepest():
    ndcg = dict(NDCG, **{"bm25+ce-top2": {"q1": 0.9, "q2": 0.9, "q3": 0.9, "q4": 0.9}})
    est = {name: Estimate(mean(list(v.values())), float("nan"), float("nan"), 4) for name, v in ndcg.items()}
    choices = {q: "bm25" for q in ("q1", "q2", "q3", "q4")}
    result = depth_pairs(CANDIDATES, RUNS, choices, choices, choices, NDCG["bm25"], est["bm25"], ndcg, est,
                         n_resamples=200)
    assert result.policy_pairs == 0
    assert [(f.candidate, f.pairs) for f in result.fixed] == [("bm25+ce-top4-blend", 8), ("bm25+ce-top2", 2 + 2 + 1)]


def test_no_cross_encoder_candidate_gives_none():
    assert depth_pairs([BM25], RUNS, {"q1": "bm25"}, {"q1": "bm25"}, {"q1": "bm25"}, {"q1": 0.2},
                       Estimate(0.2, 0.2, 0.2, 1), NDCG, estimates()) is None
