"""Plots for the multi-pipeline comparison report (matplotlib, Agg backend)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from rerank_fix.evaluate.evaluator import ALL, HELPS, HURTS
from rerank_fix.evaluate.metrics import parse_metric

if TYPE_CHECKING:
    from rerank_fix.pipeline.runner import ComparisonResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(dimension: str, stratum: str, n: int | None = None) -> str:
    text = "all" if dimension == ALL else f"{dimension}: {stratum}"
    return f"{text} (n={n})" if n is not None else text


def _colors(n: int) -> list:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def plot_delta_per_stratum(result: "ComparisonResult", metric: str, path: str | Path) -> Path:
    """Δ vs baseline per stratum, one marker per pipeline with its 95% CI; filled = significant (Holm)."""
    plt = _pyplot()
    pipelines = [r.name for r in result.results[1:]]
    groups = [(d, s, len(q)) for d, s, q in result.evaluator.groups()]
    colors = _colors(len(result.results))[1:]  # the same colour per pipeline as in the other plots
    height = max(2.5, 0.28 * len(groups) * max(1, len(pipelines)) ** 0.5 + 1.5)
    fig, ax = plt.subplots(figsize=(8.5, height))
    step = 0.8 / max(1, len(pipelines))
    for j, name in enumerate(pipelines):
        xs, ys, lows, highs, filled = [], [], [], [], []
        for i, (dim, stratum, _) in enumerate(groups):
            try:
                c = result.comparison(name, dim, stratum, metric)
            except KeyError:
                continue
            if math.isnan(c.delta.mean):
                continue
            xs.append(c.delta.mean)
            ys.append(i - 0.4 + step * (j + 0.5))
            lows.append(max(c.delta.mean - c.delta.low, 0) if not math.isnan(c.delta.low) else 0)
            highs.append(max(c.delta.high - c.delta.mean, 0) if not math.isnan(c.delta.high) else 0)
            filled.append(c.verdict in (HELPS, HURTS))
        ax.errorbar(xs, ys, xerr=[lows, highs], fmt="none", ecolor=colors[j], alpha=0.7, capsize=2, label=name)
        ax.scatter([x for x, f in zip(xs, filled) if f], [y for y, f in zip(ys, filled) if f], color=colors[j],
                   s=30, zorder=3)
        ax.scatter([x for x, f in zip(xs, filled) if not f], [y for y, f in zip(ys, filled) if not f],
                   facecolors="white", edgecolors=colors[j], s=30, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(groups)), [_label(d, s, n) for d, s, n in groups], fontsize=8)
    for i in range(1, len(groups)):
        ax.axhline(i - 0.5, color="0.9", linewidth=0.6)
    ax.invert_yaxis()
    ax.set_xlabel(f"Δ {metric} vs {result.baseline.name} (95% CI; filled = significant after Holm)")
    ax.set_title(f"Change vs baseline per stratum: {metric}", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _recall_ks(result: "ComparisonResult") -> list[int]:
    return sorted(parse_metric(m)[1] for m in result.evaluator.metrics if m.startswith("recall@"))


def plot_recall_curves(result: "ComparisonResult", path: str | Path, min_n: int | None = None,
                       max_panels: int = 12) -> Path:
    """Recall@k against k, one line per pipeline; one panel for all queries and one per stratum."""
    plt = _pyplot()
    ks = _recall_ks(result)
    min_n = result.evaluator.min_stratum_size if min_n is None else min_n
    panels = [(d, s, len(q)) for d, s, q in result.evaluator.groups() if d == ALL or len(q) >= min_n][:max_panels]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False, sharey=True)
    colors = _colors(len(result.results))
    for idx, (dim, stratum, n) in enumerate(panels):
        ax = axes[idx // cols][idx % cols]
        for color, r in zip(colors, result.results):
            s = r.evaluation.stratum(dim, stratum)
            ax.plot(ks, [s.metrics[f"recall@{k}"].mean for k in ks], marker="o", markersize=3, color=color,
                    linewidth=2.2 if r is result.baseline else 1.2, label=r.name)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks], fontsize=7)
        ax.set_ylim(0, 1.02)
        ax.set_title(_label(dim, stratum, n), fontsize=8)
        ax.grid(alpha=0.3)
    for idx in range(len(panels), rows * cols):
        axes[idx // cols][idx % cols].axis("off")
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.supxlabel("k", fontsize=9)
    fig.supylabel("recall@k", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_latency(result: "ComparisonResult", path: str | Path) -> Path:
    """Per-query latency: stacked p50 per stage for each pipeline, with the p95 of the total marked."""
    plt = _pyplot()
    names = [r.name for r in result.results]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.6))
    kinds = ["rewrite", "dense", "bm25", "rrf", "rerank", "route", "routed"]
    colors = dict(zip(kinds, _colors(len(kinds))))
    seen: set[str] = set()
    for i, r in enumerate(result.results):
        left = 0.0
        for s in r.stages:
            value = s.latency().p50
            if math.isnan(value):
                continue
            ax.barh(i, value, left=left, color=colors.get(s.kind, "0.6"),
                    label=s.kind if s.kind not in seen else None, edgecolor="white", linewidth=0.5)
            seen.add(s.kind)
            left += value
        if not math.isnan(r.latency.p95):
            ax.plot([r.latency.p95], [i], marker="|", markersize=14, color="black",
                    label="p95 total" if "p95" not in seen else None)
            seen.add("p95")
        if not math.isnan(r.latency.p50):
            # Small latencies vanish next to a reranker's; the number keeps them readable.
            ax.annotate(f"{r.latency.p50:.1f} ms" if r.latency.p50 < 100 else f"{r.latency.p50:.0f} ms",
                        (max(left, r.latency.p95 if not math.isnan(r.latency.p95) else left), i),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds per query (bars: p50 per stage, stacked; |: p95 of the total)")
    ax.set_title("Latency per query", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.margins(x=0.15)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_headline(result: "ComparisonResult", metrics: Sequence[str], path: str | Path) -> Path:
    """Each pipeline's overall score with its 95% CI, one panel per metric."""
    plt = _pyplot()
    names = [r.name for r in result.results]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.4 * len(names) + 1.6), squeeze=False,
                             sharey=True)
    colors = _colors(len(names))
    for ax, metric in zip(axes[0], metrics):
        for i, r in enumerate(result.results):
            est = r.evaluation.overall.metrics[metric]
            err = None if math.isnan(est.low) else [[est.mean - est.low], [est.high - est.mean]]
            ax.barh(i, est.mean, xerr=err, color=colors[i], capsize=3, alpha=0.85)
        base = result.baseline.evaluation.overall.metrics[metric].mean
        ax.axvline(base, color="black", linestyle="--", linewidth=0.8)
        ax.set_xlabel(metric)
        ax.grid(alpha=0.3, axis="x")
    axes[0][0].set_yticks(range(len(names)), names, fontsize=8)
    axes[0][0].invert_yaxis()
    fig.suptitle("Overall score per pipeline (95% CI; dashed: baseline)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
