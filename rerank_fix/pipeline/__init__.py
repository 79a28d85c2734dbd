"""Fixes side by side: recipes of pipelines (``[rewrite] -> dense | bm25 | rrf -> [rerank]``, or a route
between them), run on the same queries with shared stage-one results, compared per stratum.

Typical use::

    from rerank_fix.pipeline import load_recipe, run_recipe
    from rerank_fix.report.compare import write_comparison_report
    result = run_recipe(load_recipe("recipes/compare-fixes.yaml", {"data.source": "../shared/data/scifact"}))
    write_comparison_report(result, "runs/compare")

Names are imported lazily so ``import rerank_fix.pipeline`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Recipe": "recipe",
    "PipelineSpec": "recipe",
    "load_recipe": "recipe",
    "parse_recipe": "recipe",
    "Pipeline": "pipeline",
    "PipelineOutput": "pipeline",
    "LatencyStats": "pipeline",
    "Workspace": "workspace",
    "run_recipe": "runner",
    "ComparisonResult": "runner",
    "PipelineResult": "runner",
    "load_data": "runner",
    "RoutingPolicy": "routing",
    "fit_policy": "routing",
    "cross_validated_routing": "routing",
    "make_folds": "tuning",
    "cv_tune_rrf": "tuning",
    "quick_train": "quick_train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rerank_fix.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rerank_fix.pipeline.{module}"), name)


def __dir__() -> list[str]:
    return __all__
