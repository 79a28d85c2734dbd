"""The training curve: loss per step, and the dev metric at each evaluation (by epoch)."""
from __future__ import annotations

from pathlib import Path

from rerank_fix.finetune.checkpoint import read_log


def plot_training_curve(run_dir: str | Path, out: str | Path | None = None) -> Path | None:
    """Draw ``training_curve.png`` from the run's logs; returns its path, or ``None`` with nothing logged.

    Example:
        >>> plot_training_curve("runs/finetune/cpu-minilm")  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    losses = read_log(run_dir / "loss_log.jsonl")
    evals = read_log(run_dir / "eval_log.jsonl")
    if not losses and not evals:
        return None
    out = Path(out) if out else run_dir / "training_curve.png"
    fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(11, 4))
    if losses:
        ax_loss.plot([r["step"] for r in losses], [r["loss"] for r in losses], lw=1, color="tab:blue")
    ax_loss.set_xlabel("optimizer step")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("loss per step")
    ax_loss.grid(alpha=0.3)
    metric_names = [k for k in (evals[0]["metrics"] if evals else {}) if "@" in k]
    for name in metric_names:
        ax_eval.plot([r["epoch"] for r in evals], [r["metrics"].get(name) for r in evals], marker="o", label=name)
    ax_eval.set_xlabel("epoch")
    ax_eval.set_ylabel("dev metric")
    ax_eval.set_title("dev metrics (reranked stage-one candidates)")
    ax_eval.grid(alpha=0.3)
    if metric_names:
        ax_eval.legend()
    fig.tight_layout()
    from rerank_fix.core.jsonio import atomic_writer

    with atomic_writer(out, "wb") as handle:
        fig.savefig(handle, dpi=110, format="png")
    plt.close(fig)
    return out
