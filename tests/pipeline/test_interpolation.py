"""Reranker score interpolation: the blend's endpoints, tuning that never sees the fold it scores, recipe checks."""
from __future__ import annotations

import copy

import pytest

from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.metrics import per_query
from rerank_fix.fuse.interpolate import interpolate_scores
from rerank_fix.pipeline.recipe import load_recipe
from rerank_fix.pipeline.tuning import cv_tune_interpolation, make_folds
from rerank_fix.retrieve.bm25 import BM25Retriever
from rerank_fix.core.run import Run

DEPTH = 20


@pytest.fixture(scope="module")
def demo():
    return load_eval_set("demo", "test")


@pytest.fixture(scope="module")
def runs(demo):
    """A real BM25 run as stage one, and a second real BM25 (other settings, unstemmed) as the 'reranker'
    scoring its top 20: two honest, different orderings of the same candidates."""
    first_engine = BM25Retriever(k1=0.9, b=0.4)
    first_engine.index(demo.corpus)
    first = first_engine.search(demo.query_texts, k=50).renamed("bm25")
    scorer = BM25Retriever(k1=2.0, b=1.0, stem=False)
    scorer.index(demo.corpus)
    other = scorer.search(demo.query_texts, k=len(demo.corpus))
    reranked = {}
    for qid, items in first.results.items():
        scores = dict(other.results.get(qid, []))
        head = [(d, scores.get(d, -1.0)) for d, _ in items[:DEPTH]]
        if not head:
            continue
        low = min(s for _, s in head)
        reranked[qid] = head + [(d, low - 1 - i) for i, (d, _) in enumerate(items[DEPTH:])]
    return first, Run("other", reranked)


def mean(run, qrels):
    values = per_query(run, qrels, ["ndcg@10"])["ndcg@10"]
    return sum(values.values()) / len(values)


def test_weight_zero_is_the_reranker_and_one_is_stage_one(runs):
    first, reranked = runs
    only_reranker = interpolate_scores(first, reranked, 0.0, DEPTH)
    only_first = interpolate_scores(first, reranked, 1.0, DEPTH)
    changed = 0
    for qid in first.results:
        assert only_reranker.ranked_ids(qid) == reranked.ranked_ids(qid)
        assert only_first.ranked_ids(qid) == first.ranked_ids(qid)
        changed += only_reranker.ranked_ids(qid) != first.ranked_ids(qid)
    assert changed > 10  # the two inputs really disagree, so the endpoints test something


def test_blend_reorders_only_the_head_and_leaves_inputs_alone(runs):
    first, reranked = runs
    before = (copy.deepcopy(first.results), copy.deepcopy(reranked.results))
    blended = interpolate_scores(first, reranked, 0.5, DEPTH)
    assert (first.results, reranked.results) == before
    for qid, items in first.results.items():
        ids = blended.ranked_ids(qid)
        assert sorted(ids[:DEPTH]) == sorted(d for d, _ in items[:DEPTH])
        assert ids[DEPTH:] == [d for d, _ in items[DEPTH:]]


def test_a_query_the_reranker_did_not_score_keeps_its_stage_one_order(runs):
    first, reranked = runs
    qid = next(iter(first.results))
    partial = Run("partial", {q: items for q, items in reranked.results.items() if q != qid})
    assert interpolate_scores(first, partial, 0.3, DEPTH).ranked_ids(qid) == first.ranked_ids(qid)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_weight_outside_unit_interval_is_refused(runs, weight):
    with pytest.raises(ConfigError, match="between 0 and 1"):
        interpolate_scores(*runs, weight, DEPTH)


def test_cv_interpolation_uses_each_folds_own_choice_and_never_its_judgements(demo, runs):
    first, reranked = runs
    folds = make_folds(list(demo.qrels), 4, seed=0)
    grid = [0.0, 0.25, 0.5, 0.75, 1.0]
    tuned = cv_tune_interpolation(first, reranked, demo.qrels, folds, grid, "ndcg@10", DEPTH)
    for choice, fold in zip(tuned.folds, folds):
        expected = interpolate_scores(first, reranked, choice.params.weight, DEPTH)
        for q in fold[:5]:
            assert tuned.run.ranked_ids(q) == expected.ranked_ids(q)
    scrambled = {q: ({"no-such-doc": 1} if q in set(folds[0]) else judged) for q, judged in demo.qrels.items()}
    again = cv_tune_interpolation(first, reranked, scrambled, folds, grid, "ndcg@10", DEPTH)
    assert again.folds[0].params == tuned.folds[0].params
    # Tuned on the other folds, the blend is never far below the better of its two endpoints.
    best_endpoint = max(mean(first, demo.qrels), mean(reranked, demo.qrels))
    assert mean(tuned.run, demo.qrels) > best_endpoint - 0.02


def test_recipe_checks_interpolation_settings(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("""
pipelines:
  - name: dense
    stages: [dense]
  - name: blend
    stages:
      - dense
      - rerank: {model: BAAI/bge-reranker-v2-m3, interpolate: 1.5}
""", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "pipelines[1].stages[1].rerank.interpolate" in message and "between 0 and 1" in message
    assert "problems" not in message  # one problem, said once
    path.write_text("""
pipelines:
  - name: dense
    stages: [dense]
  - name: tuned
    stages:
      - dense
      - rerank: {model: BAAI/bge-reranker-v2-m3, interpolate: tune, tune: {metric: ndcg@ten}}
""", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    assert "pipelines[1].stages[1].rerank.tune.metric" in str(info.value)


def test_tuned_interpolation_without_judgements_is_refused(demo):
    from rerank_fix.pipeline.pipeline import Pipeline
    from rerank_fix.pipeline.recipe import PipelineSpec
    from rerank_fix.pipeline.workspace import Workspace
    from rerank_fix.rerank.base import Reranker

    class Overlap(Reranker):
        """Counts shared words: a real, cheap scorer so no model is needed for this check."""

        name = "overlap"

        def score(self, pairs):
            import numpy as np

            return np.asarray([len(set(q.lower().split()) & set(d.lower().split())) for q, d in pairs], float)

    spec = PipelineSpec(name="blend", stages=[{"stage": "bm25"},
                                              {"stage": "rerank", "model": "overlap", "interpolate": "tune"}])
    workspace = Workspace(demo.corpus, score_cache=False, show_progress=False)
    workspace.reranker = lambda *args, **kwargs: Overlap()  # the scorer under test, instead of a cross-encoder
    queries = dict(list(demo.queries.items())[:20])
    with pytest.raises(ConfigError, match="needs judged queries"):
        Pipeline(spec, workspace).run(queries)
    fixed = PipelineSpec(name="fixed", stages=[{"stage": "bm25"},
                                               {"stage": "rerank", "model": "overlap", "interpolate": 0.6}])
    out = Pipeline(fixed, workspace).run(queries)
    assert out.stages[-1].info["interpolate"] == 0.6
    assert set(out.run.results) == set(queries)
