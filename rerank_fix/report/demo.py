"""The comparison on the bundled demo data, with nothing to set up: ``rerank-fix demo`` calls :func:`run_demo`."""
from __future__ import annotations

import logging
from pathlib import Path

from rerank_fix.errors import ConfigError

logger = logging.getLogger("rerank_fix.pipeline")


def demo_recipe_path() -> Path:
    """``recipes/demo.yaml`` of the project (the recipes ship with the repository, not the wheel)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "recipes" / "demo.yaml"
        if candidate.is_file():
            return candidate
    raise ConfigError("recipes/demo.yaml not found: run the demo from a checkout of the rerank-fix repository")


def run_demo(out_dir: str | Path, show_progress: bool = True, print_terminal_summary: bool = True,
             max_queries: int | None = None) -> Path:
    """Quick-train the demo reranker (once; cached), run ``recipes/demo.yaml`` and write its report.

    Args:
        out_dir: Report folder.
        show_progress: Progress bars.
        print_terminal_summary: Print the headline table and findings.
        max_queries: Evaluate (and quick-train on) a seeded sample of this many queries: a quick look.

    Returns:
        The path of ``report.md``.

    Example:
        >>> report = run_demo("runs/demo/compare")  # doctest: +SKIP
        >>> report.name  # doctest: +SKIP
        'report.md'
    """
    from rerank_fix.pipeline.recipe import load_recipe
    from rerank_fix.pipeline.runner import run_recipe
    from rerank_fix.report.compare import print_summary, write_comparison_report

    overrides = {} if max_queries is None else {
        "data.max_queries": max_queries, "latency.sample": min(3, max_queries),
        "models.minilm-quick.quick_train.max_queries": max_queries}
    recipe = load_recipe(demo_recipe_path(), overrides)
    result = run_recipe(recipe, show_progress=show_progress)
    paths = write_comparison_report(result, out_dir)
    if print_terminal_summary:
        print_summary(result, report_path=paths["md"])
    return paths["md"]
