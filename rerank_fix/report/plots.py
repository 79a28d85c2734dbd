"""Matplotlib PNGs for reports (Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rerank_fix.evaluate.evaluator import ALL, Headroom, RunEvaluation, StratumComparison
from rerank_fix.evaluate.metrics import parse_metric


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(dimension: str, stratum: str) -> str:
    return "all" if dimension == ALL else f"{dimension}: {stratum}"


def plot_recall_curves(evaluation: RunEvaluation, path: str | Path, min_n: int = 1) -> Path:
    """Recall@k against k, one line per stratum (overall in bold)."""
    plt = _pyplot()
    ks = sorted(parse_metric(m)[1] for m in evaluation.per_query if m.startswith("recall@"))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in evaluation.strata:
        if s.n < min_n:
            continue
        values = [s.metrics[f"recall@{k}"].mean for k in ks if f"recall@{k}" in s.metrics]
        ax.plot(ks[:len(values)], values, marker="o", linewidth=2.5 if s.dimension == ALL else 1.2,
                color="black" if s.dimension == ALL else None, label=f"{_label(s.dimension, s.stratum)} (n={s.n})")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_title(f"Recall@k per stratum: {evaluation.run_name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_headroom(headrooms: Sequence[Headroom], path: str | Path, title: str = "") -> Path:
    """Horizontal bars of recall@50 − recall@5 per stratum against the threshold line."""
    plt = _pyplot()
    labels = [f"{_label(h.dimension, h.stratum)} (n={h.n})" for h in headrooms]
    values = [h.headroom for h in headrooms]
    colors = ["tab:green" if h.has_room else "tab:gray" for h in headrooms]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.5))
    ax.barh(range(len(labels)), values, color=colors)
    ax.axvline(headrooms[0].threshold if headrooms else 0.25, color="tab:red", linestyle="--", label="threshold")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("headroom = recall@50 − recall@5")
    ax.set_title(title or "Headroom per stratum (green: reranking has room to help)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_deltas(comparisons: Sequence[StratumComparison], path: str | Path, title: str = "") -> Path:
    """Delta vs baseline per stratum with CI bars, one panel per metric; colour shows the verdict."""
    plt = _pyplot()
    metrics = list(dict.fromkeys(c.metric for c in comparisons))
    colors = {"helps": "tab:green", "hurts": "tab:red", "no detectable effect": "tab:gray",
              "too small to judge": "lightgray"}
    rows = [c for c in comparisons if c.metric == metrics[0]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 0.35 * len(rows) + 1.6), sharey=True,
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        items = [c for c in comparisons if c.metric == metric]
        y = range(len(items))
        for i, c in enumerate(items):
            low, high = c.delta.low, c.delta.high
            err = [[max(c.delta.mean - low, 0)], [max(high - c.delta.mean, 0)]] if low == low else None
            ax.errorbar(c.delta.mean, i, xerr=err, fmt="o", color=colors.get(c.verdict, "black"), capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(list(y), [f"{_label(c.dimension, c.stratum)} (n={c.n})" for c in items], fontsize=8)
        ax.set_xlabel(f"Δ {metric}")
        ax.grid(alpha=0.3, axis="x")
    axes[0][0].invert_yaxis()
    fig.suptitle(title or "Change vs baseline per stratum (95% CI)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
