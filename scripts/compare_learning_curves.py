"""Learning curves of several fine-tuning runs on one figure: training loss and dev metric against training pairs
seen, so runs with different batch sizes line up ("before" and "after" a change of settings).

    python scripts/compare_learning_curves.py OUT.png LABEL=RUN_DIR[:PAIRS_PER_STEP] [LABEL=RUN_DIR ...] \
        [--chance G] [--title TEXT] [--smooth K]

RUN_DIR is a `rerank-fix finetune` output folder (or a quick-trained model's `run/` folder): its
`loss_log.jsonl` and, when evaluation was on, `eval_log.jsonl`. PAIRS_PER_STEP defaults to the run's
`config.yaml` (per-device batch x group size x accumulation). `--chance G` draws the group loss at chance, ln G.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path


def pairs_per_step(run: Path) -> int:
    import yaml

    cfg = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    train, data = cfg.get("train", {}), cfg.get("data", {})
    return (int(train.get("per_device_batch_size", 1)) * int(data.get("group_size", 1))
            * int(train.get("gradient_accumulation_steps", 1) or 1))


def parse_run(spec: str) -> tuple[str, Path, int]:
    if "=" not in spec:
        raise SystemExit(f"{spec!r}: expected LABEL=RUN_DIR[:PAIRS_PER_STEP]")
    label, rest = spec.split("=", 1)
    path, _, per_step = rest.partition(":")
    run = Path(path)
    if not (run / "loss_log.jsonl").is_file():
        raise SystemExit(f"{run}: no loss_log.jsonl (is it a fine-tuning output folder?)")
    return label, run, int(per_step) if per_step else pairs_per_step(run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR[:PAIRS_PER_STEP]")
    parser.add_argument("--chance", type=int, action="append", default=[], help="group size G: draw ln G")
    parser.add_argument("--title", default="learning curves")
    parser.add_argument("--smooth", type=int, default=7, help="moving mean over K steps (1: none)")
    parser.add_argument("--metric", default="ndcg@10")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rerank_fix.finetune.checkpoint import read_log  # skips a torn last line of a stopped run

    runs = [parse_run(spec) for spec in args.runs]
    logs = [([r for r in read_log(run / "loss_log.jsonl") if "loss" in r], read_log(run / "eval_log.jsonl"))
            for _, run, _ in runs]
    evaluated = any(evals for _, evals in logs)
    # Without in-training evaluations there is nothing for a second panel to show.
    fig, axes = plt.subplots(1, 2 if evaluated else 1, figsize=(11 if evaluated else 7, 4), squeeze=False)
    ax_loss = axes[0][0]
    top = 0.0
    for i, ((label, _, per_step), (losses, evals)) in enumerate(zip(runs, logs)):
        color = f"C{i}"
        steps = np.array([r["step"] for r in losses], dtype=float)
        loss = np.array([r["loss"] for r in losses], dtype=float)
        ax_loss.plot(steps * per_step, loss, color=color, alpha=0.2, lw=1)
        k = max(1, args.smooth)
        if len(loss) >= k:
            smooth = np.convolve(loss, np.ones(k) / k, "valid")
            top = max(top, float(smooth.max()))
            ax_loss.plot(steps[k - 1:] * per_step, smooth, color=color, lw=2,
                         label=f"{label} ({len(loss)} steps x {per_step} pairs)")
        if evals:
            axes[0][1].plot([e["step"] * per_step for e in evals], [e["metrics"].get(args.metric) for e in evals],
                            "o-", color=color, label=label)
    for g in args.chance:
        top = max(top, math.log(g))
        ax_loss.axhline(math.log(g), color="grey", ls=":", lw=1, label=f"chance, groups of {g} (ln {g})")
    if top > 0:  # single noisy steps would otherwise set the scale
        ax_loss.set_ylim(0, top * 1.25)
    ax_loss.set_xlabel("training pairs seen")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title(f"training loss ({args.smooth}-step mean; faint: every step)")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(fontsize=7)
    if evaluated:
        ax_eval = axes[0][1]
        ax_eval.set_xlabel("training pairs seen")
        ax_eval.set_ylabel(f"dev {args.metric}")
        ax_eval.set_title("in-training dev evaluation")
        ax_eval.grid(alpha=0.3)
        ax_eval.legend(fontsize=7)
    fig.suptitle(args.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
