"""fix's choice: candidates in cost order, nested CV that never sees the held-out fold, shrinkage toward
the cheaper candidate, guarantees, query_set never routed on, and the delta table."""
from __future__ import annotations

import pytest

from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.evaluator import HURTS, NO_EFFECT, StratifiedEvaluator, StratumComparison
from rerank_fix.evaluate.stats import Estimate
from rerank_fix.evaluate.strata import MetadataStratifier, QueryLengthStratifier
from rerank_fix.fix.candidates import (BLEND, RERANK, TUNED_FUSION, Candidate, fusion_candidates,
                                       rerank_candidates, rewrite_candidates, stage_one_candidates, usable_depths)
from rerank_fix.fix.core import _route_dimensions
from rerank_fix.fix.guarantees import check_quality, check_safety
from rerank_fix.fix.selection import nested_routing, shrink_policy
from rerank_fix.pipeline.recipe import PipelineSpec
from rerank_fix.pipeline.routing import RoutingPolicy, StratumEvidence, stratifier_config
from rerank_fix.pipeline.tuning import make_folds
from rerank_fix.report.delta_table import delta_table
from rerank_fix.retrieve.bm25 import BM25Retriever


def test_candidates_come_cheapest_first_and_blends_follow_their_plain_rerank():
    ones = stage_one_candidates(["dense", "bm25"], {}, ("dense", "bm25", "rrf", "rerank", "rewrite"))
    fusions = fusion_candidates(ones, ["dense", "bm25"])
    spell = rewrite_candidates([ones[0], fusions[0]])
    reranks = rerank_candidates([ones[0], fusions[0]], ["ce"], usable_depths([100, 10, 20], 50))
    names = [c.name for c in [*ones, *fusions, *spell, *reranks]]
    assert names[:6] == ["dense", "bm25", "rrf", "weighted-rrf", "spell+dense", "spell+rrf"]
    assert names[6:10] == ["dense+ce-top10", "dense+ce-top10-blend", "rrf+ce-top10", "rrf+ce-top10-blend"]
    assert [c.depth for c in reranks] == [10] * 4 + [20] * 4 + [50] * 4  # 100 capped at stage one's 50
    assert fusions[1].kind == TUNED_FUSION and fusions[1].tuned and not fusions[0].tuned
    assert reranks[1].kind == BLEND and reranks[1].alone == reranks[0].name and reranks[0].kind == RERANK
    for c in [*ones, *fusions, *spell, *reranks]:  # every candidate is a valid pipeline
        PipelineSpec.model_validate(c.pipeline() | {"stages": [_long(s) for s in c.stages]})


def _long(stage):
    kind, options = next(iter(stage.items()))
    if kind == "rrf":
        options = {**options, "retrievers": [{"stage": r} for r in options["retrievers"]]}
    if kind == "rewrite":
        return {"stage": kind, **options}
    return {"stage": kind, **options}


def test_a_run_file_needs_the_run_stage():
    with pytest.raises(ConfigError, match="--run mine=x.trec: this version of rerank_fix has no 'run' stage"):
        stage_one_candidates(["dense"], {"mine": "x.trec"}, ("dense", "bm25"))
    ones = stage_one_candidates(["dense"], {"mine": "x.trec"}, ("dense", "run"))
    assert ones[1].stages == [{"run": {"path": "x.trec"}}]


@pytest.fixture(scope="module")
def demo():
    return load_eval_set("demo", "test")


@pytest.fixture(scope="module")
def setup(demo):
    """Two real BM25 stage ones (stemmed, unstemmed), their plain RRF and a CV-weighted RRF."""
    from rerank_fix.fuse.rrf import reciprocal_rank_fusion

    runs = {}
    for name, options in (("a", {}), ("b", {"stem": False, "k1": 2.0, "b": 1.0})):
        engine = BM25Retriever(**options)
        engine.index(demo.corpus)
        runs[name] = engine.search(demo.query_texts, k=50).renamed(name)
    runs["rrf"] = reciprocal_rank_fusion([runs["a"], runs["b"]]).top(50)
    runs["weighted-rrf"] = runs["rrf"]  # its plain-CV run; nested CV re-tunes it per outer fold
    rrf = {"stage": "rrf", "retrievers": [{"stage": "bm25"}, {"stage": "bm25", "stem": False}], "top_k": 50,
           "weights": "tune", "k": "tune", "tune": {"weight_grid": [0.0, 0.3, 1.0, 2.0], "k_grid": [10.0, 60.0]}}
    specs = {"weighted-rrf": PipelineSpec(name="weighted-rrf", stages=[rrf])}
    candidates = [Candidate("a", [], "stage-one"), Candidate("b", [], "stage-one"),
                  Candidate("rrf", [], "rrf", components=["a", "b"]),
                  Candidate("weighted-rrf", [], TUNED_FUSION, components=["a", "b"])]
    length = QueryLengthStratifier()
    labels = {"length": length.assign(demo.queries)}
    configs = {"length": stratifier_config(length)}
    folds = make_folds(list(demo.qrels), 4, seed=0)
    return candidates, runs, specs, labels, configs, folds


def test_nested_cv_never_sees_the_held_out_fold(demo, setup):
    candidates, runs, specs, labels, configs, folds = setup
    routed = nested_routing(candidates, runs, specs, demo.qrels, folds, labels, configs, min_stratum_size=10)
    assert set(routed.per_query) == set(demo.qrels)
    held = set(folds[0])
    scrambled = {q: ({"no-such-doc": 1} if q in held else judged) for q, judged in demo.qrels.items()}
    again = nested_routing(candidates, runs, specs, scrambled, folds, labels, configs, min_stratum_size=10)
    # Fold 0's policy and its re-tuned weights depend only on the other folds' judgements ...
    assert again.outcome.fold_policies[0].as_dict() == routed.outcome.fold_policies[0].as_dict()
    assert again.fold_params[0] == routed.fold_params[0]
    for q in folds[0]:
        assert again.outcome.choices[q] == routed.outcome.choices[q]
        assert again.run.ranked_ids(q) == routed.run.ranked_ids(q)
    # ... while the other folds, which train on fold 0, may change: the scramble really reached the data.
    assert any(again.fold_params[i] != routed.fold_params[i] or
               again.outcome.fold_policies[i].as_dict() != routed.outcome.fold_policies[i].as_dict()
               for i in range(1, len(folds)))


def test_shrinks_to_the_cheaper_candidate_unless_the_dearer_is_significantly_better():
    qids = [f"q{i}" for i in range(60)]
    scores = {"base": {q: 0.3 for q in qids},
              "rrf": {q: 0.6 + (0.01 if i % 2 else -0.01) for i, q in enumerate(qids)},
              "weighted": {q: 0.6 + (0.04 if i % 2 else -0.035) for i, q in enumerate(qids)},
              "deep": {q: 0.9 for q in qids}}
    labels = {q: "all" for q in qids}
    for dearer, expected in (("weighted", "rrf"), ("deep", "deep")):
        ev = StratumEvidence("all", 60, dearer, {o: 0.3 for o in ("rrf", "weighted", "deep")},
                             {o: 0.001 for o in ("rrf", "weighted", "deep")}, {o: 0.003 for o in ("rrf", "weighted", "deep")})
        policy = RoutingPolicy("all", {"type": "all"}, {"all": dearer}, "base", ["base", "rrf", "weighted", "deep"],
                               evidence=[ev])
        shrunk, moved = shrink_policy(policy, scores, qids, labels, policy.options, 0.05)
        assert shrunk.choices["all"] == expected
        assert (len(moved) == 1 and moved[0].cheaper == "rrf") == (expected == "rrf")


def test_query_set_is_never_a_routing_dimension(demo):
    from rerank_fix.core.types import Query

    queries = {q: Query(q, x.text, {**x.metadata, "query_set": "typo" if i % 2 else "clean"})
               for i, (q, x) in enumerate(demo.queries.items())}
    es = demo.__class__(demo.name, demo.corpus, queries, demo.qrels)
    evaluator = StratifiedEvaluator(es, [QueryLengthStratifier(), MetadataStratifier("query_set"),
                                         MetadataStratifier("segment")], metrics=["ndcg@10"])
    labels, configs, _ = _route_dimensions(evaluator)
    assert set(labels) == {"length", "segment"} and "query_set" not in configs


def _cmp(stratum, verdict, delta, n=40):
    e = Estimate(0.5, 0.4, 0.6, n)
    return StratumComparison("typo", stratum, "ndcg@10", n, e, e, Estimate(delta, delta - 0.02, delta + 0.02, n),
                             0.01, 0.02, verdict)


def test_guarantees():
    ok = check_safety([_cmp("clean", NO_EFFECT, 0.01)], 0.05, "dense")
    assert ok.holds and "no stratum significantly worse than dense" in ok.detail
    bad = check_safety([_cmp("clean", NO_EFFECT, 0.01), _cmp("typo-heavy", HURTS, -0.05)], 0.05, "dense")
    assert not bad.holds and "typo-heavy queries" in bad.detail and "1 stratum/metric pair" in bad.detail
    assert check_quality(0.500, "rrf", 0.504, "ndcg@10").holds
    assert check_quality(0.520, "rrf", 0.504, "ndcg@10").holds
    low = check_quality(0.490, "rrf", 0.504, "ndcg@10")
    assert not low.holds and "below" in low.detail


def test_delta_table_rows_are_systems_and_columns_strata():
    headers, rows = delta_table({"rrf": [_cmp("clean", NO_EFFECT, 0.01), _cmp("typo-heavy", HURTS, -0.05)]},
                                "ndcg@10")
    assert headers == ["system", "typo: clean (n=40)", "typo: typo-heavy (n=40)", "▲ / ▼ strata"]
    assert rows == [["rrf", "+0.010 [−0.010, +0.030]", "−0.050 [−0.070, −0.030] ▼", "0 ▲ / 1 ▼"]]
