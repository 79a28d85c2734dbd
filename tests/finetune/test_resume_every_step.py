"""Resume after a kill at ANY step (epoch boundaries included) replays the uninterrupted run's losses exactly.

A kill right after checkpoint k leaves the run folder as it was when checkpoint k was complete (plus torn
later checkpoints and log lines, which the resume ignores): removing every checkpoint after k reproduces it.
"""
from __future__ import annotations

import shutil

from finetune_helpers import tiny_config

from rerank_fix.finetune.checkpoint import checkpoints, read_log

STEPS_PER_EPOCH = 2
TOTAL_STEPS = 2 * STEPS_PER_EPOCH


def _cfg(collection, triples, out):
    from rerank_fix.finetune.config import parse_config

    # 8 training queries, 4 per batch: 2 steps per epoch, 2 epochs; a checkpoint after every step, all kept.
    raw = tiny_config(collection, out, triples,
                      data={"max_triples": 8, "group_size": 3},
                      train={"per_device_batch_size": 4, "save_steps": 1, "save_total_limit": 10,
                             "warmup_ratio": 0.2})
    return parse_config(raw, source="tiny-resume")


def test_resume_after_a_kill_at_every_step_matches_the_uninterrupted_run(collection, triples, tmp_path):
    from rerank_fix.finetune.trainer import run_finetune

    out = tmp_path / "run"
    run_finetune(_cfg(collection, triples, out), show_progress=False)
    reference = {r["step"]: r["loss"] for r in read_log(out / "loss_log.jsonl")}
    assert sorted(reference) == list(range(1, TOTAL_STEPS + 1))
    worst = {}
    # From the last checkpoint back to the first, so each resume only re-creates what the next one removes.
    for killed_after in range(TOTAL_STEPS - 1, 0, -1):
        for step, path in checkpoints(out / "checkpoints"):
            if step > killed_after:
                shutil.rmtree(path)
        for name in ("summary.json",):
            (out / name).unlink(missing_ok=True)
        run_finetune(_cfg(collection, triples, out), resume=True, show_progress=False)
        resumed = {r["step"]: r["loss"] for r in read_log(out / "loss_log.jsonl")}
        assert sorted(resumed) == list(range(1, TOTAL_STEPS + 1)), killed_after
        worst[killed_after] = max(abs(resumed[s] - reference[s]) for s in range(killed_after + 1, TOTAL_STEPS + 1))
    print("max |loss difference| after resuming from checkpoint k:", dict(sorted(worst.items())))
    boundary = [k for k in worst if k % STEPS_PER_EPOCH == 0]
    assert boundary, "the run must have an epoch-boundary checkpoint to resume from"
    assert all(diff <= 1e-6 for diff in worst.values()), worst
