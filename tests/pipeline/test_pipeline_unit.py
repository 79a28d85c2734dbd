"""Pipelines built from stages, run through a shared workspace (BM25 only: fast, no model)."""
from __future__ import annotations

import pytest

from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.fuse.rrf import reciprocal_rank_fusion
from rerank_fix.pipeline.pipeline import Pipeline, TuningContext, latency_sample
from rerank_fix.pipeline.recipe import BM25Stage, PipelineSpec
from rerank_fix.pipeline.tuning import make_folds
from rerank_fix.pipeline.workspace import Workspace
from rerank_fix.retrieve.bm25 import BM25Retriever


@pytest.fixture(scope="module")
def demo():
    return load_eval_set("demo", "test")


def spec(name, *stages):
    return PipelineSpec.model_validate({"name": name, "stages": list(stages)})


def test_stage_one_is_computed_once_per_config(demo):
    ws = Workspace(demo.corpus, show_progress=False)
    first = Pipeline(spec("a", {"stage": "bm25", "top_k": 30}), ws).run(demo.queries)
    second = Pipeline(spec("b", {"stage": "bm25", "top_k": 30}), ws).run(demo.queries)
    assert not first.stages[0].cached and second.stages[0].cached
    assert second.run.results == first.run.results
    other = Pipeline(spec("c", {"stage": "bm25", "top_k": 30, "k1": 1.5}), ws).run(demo.queries)
    assert not other.stages[0].cached
    assert ws.stats.indexed == 2  # k1 changes the index; top_k alone would not


def test_fixed_weight_rrf_matches_direct_fusion(demo):
    ws = Workspace(demo.corpus, show_progress=False)
    stage = {"stage": "rrf", "retrievers": [{"stage": "bm25", "top_k": 40}, {"stage": "bm25", "k1": 1.6, "b": 0.9,
                                                                              "top_k": 40}],
             "weights": [1.0, 0.4], "k": 20, "top_k": 25}
    out = Pipeline(spec("h", stage), ws).run(demo.queries)
    runs = []
    for k1, b in ((0.9, 0.4), (1.6, 0.9)):
        bm25 = BM25Retriever(k1=k1, b=b)
        bm25.index(demo.corpus)
        runs.append(bm25.search(demo.query_texts, k=40))
    expected = reciprocal_rank_fusion(runs, k=20, weights=[1.0, 0.4]).top(25)
    for qid in demo.queries:
        assert out.run.ranked_ids(qid) == expected.ranked_ids(qid)


def test_tuned_rrf_needs_judgements(demo):
    ws = Workspace(demo.corpus, show_progress=False)
    stage = {"stage": "rrf", "retrievers": [{"stage": "bm25"}, {"stage": "bm25", "k1": 1.6}], "weights": "tune"}
    with pytest.raises(ConfigError, match="needs judged queries"):
        Pipeline(spec("t", stage), ws).run(demo.queries)
    folds = make_folds(list(demo.qrels), 3, seed=0)
    out = Pipeline(spec("t", stage), ws).run(demo.queries, TuningContext(demo.qrels, folds, 3, 0))
    assert len(out.stages[0].info["tuning"]["folds"]) == 3


def test_rewrite_replace_retrieves_with_corrected_text(demo):
    from rerank_fix.rewrite import RewriteConfig, build_rewriter

    ws = Workspace(demo.corpus, show_progress=False)
    out = Pipeline(spec("s", {"stage": "rewrite", "mode": "replace"}, {"stage": "bm25", "top_k": 20}), ws).run(
        demo.queries)
    rewritten = build_rewriter(RewriteConfig(), corpus=demo.corpus).rewrite(demo.queries)
    changed = [r.query_id for r in rewritten if r.changed]
    assert changed, "the demo's typo queries should give the spell backend something to correct"
    bm25 = BM25Retriever()
    bm25.index(demo.corpus)
    expected = bm25.search(rewritten.texts(), k=20)
    for qid in changed:
        assert out.run.ranked_ids(qid) == expected.ranked_ids(qid)
    summary = out.stages[0].info["summary"]
    assert summary["by_kind"]["rewritten"] == len(changed)


def test_latency_probe_times_each_stage_per_query(demo):
    ws = Workspace(demo.corpus, show_progress=False)
    pipeline = Pipeline(spec("p", {"stage": "rewrite", "mode": "fuse"}, {"stage": "bm25"}), ws)
    out = pipeline.run(demo.queries)
    sample_ids = latency_sample(list(demo.queries), 5, seed=1)
    assert sample_ids == latency_sample(list(demo.queries), 5, seed=1)
    pipeline.probe(out, {q: demo.queries[q] for q in sample_ids})
    for trace in out.stages:
        assert set(trace.latency_ms) == set(sample_ids)
        assert all(v > 0 for v in trace.latency_ms.values())
    total = out.total_latency()
    assert total.n == 5 and not total.amortised
    per_query = out.per_query_total_ms()
    assert per_query[sample_ids[0]] == pytest.approx(sum(t.latency_ms[sample_ids[0]] for t in out.stages))


def test_routed_spec_cannot_run_as_plain_pipeline(demo):
    ws = Workspace(demo.corpus, show_progress=False)
    routed = PipelineSpec.model_validate({"name": "r", "route": {"between": ["a", "b"]}})
    with pytest.raises(ConfigError, match="routed"):
        Pipeline(routed, ws)
    assert isinstance(spec("x", "bm25").stages[0], BM25Stage)
