"""compare-fixes on the real collections (``make test-real``): slow, CPU-heavy, skipped without the data.

- CoSQA: plain RRF is significantly worse than dense alone (BM25 is weak on code); cross-validated
  weighted RRF recovers (not significantly worse than dense, better than plain RRF).
- scifact, CoSQA and the DL19 typo-vs-clean subset: the routed pipeline is never significantly worse
  than the baseline in any stratum.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from rerank_fix.evaluate.evaluator import ALL, HURTS
from rerank_fix.pipeline.recipe import load_recipe
from rerank_fix.pipeline.runner import run_recipe
from rerank_fix.report.wording import notes
from tests.conftest import shared_set

pytestmark = pytest.mark.real

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "compare-fixes.yaml"


def _mean(result, name, metric="ndcg@10"):
    return result.result(name).evaluation.overall.metrics[metric].mean


def test_cosqa_plain_rrf_hurts_and_weighted_rrf_recovers():
    data = shared_set("cosqa")
    recipe = load_recipe(RECIPE, {"data.source": str(data), "data.split": "test", "latency.sample": 0})
    result = run_recipe(recipe, show_progress=False, only=["bm25", "rrf", "weighted-rrf"])
    rrf = result.comparison("rrf", ALL, ALL, "ndcg@10")
    assert rrf.verdict == HURTS, rrf
    assert _mean(result, "bm25") < _mean(result, "dense") - 0.15
    weighted = result.comparison("weighted-rrf", ALL, ALL, "ndcg@10")
    assert weighted.verdict != HURTS
    assert _mean(result, "weighted-rrf") > _mean(result, "rrf") + 0.05
    assert any("significantly WORSE than its best component" in n and n.startswith("rrf ") for n in notes(result))


@pytest.mark.parametrize("name, overrides", [
    ("scifact", {"data.split": "test"}),
    ("cosqa", {"data.split": "test"}),
    ("msmarco-dl19-subset", {"data.split": "test", "data.query_sets": {"clean": "queries.dl2019-clean.jsonl",
                                                                       "typo1": "queries.typo1.jsonl"}}),
])
def test_routed_never_significantly_worse_than_baseline(name, overrides):
    data = shared_set(name)
    models = {}
    if name == "msmarco-dl19-subset":
        # No training split: the reranker is quick-trained on scifact's (another collection, no leakage).
        scifact = shared_set("scifact")
        recipe = load_recipe(RECIPE, {"data.source": str(data), **overrides, "latency.sample": 0,
                                      "models.minilm-quick.quick_train.data": str(scifact)})
    else:
        recipe = load_recipe(RECIPE, {"data.source": str(data), **overrides, "latency.sample": 0})
    result = run_recipe(recipe, model_overrides=models, show_progress=False, only=["routed"])
    assert result.result("routed").routing is not None
    assert result.significantly_worse("routed") == []
