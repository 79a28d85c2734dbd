"""scripts/compare_learning_curves.py: runs with different batch sizes on one pairs-seen axis."""
import json
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_folder(path: Path, per_device: int, group: int, steps: int, evals: bool) -> Path:
    path.mkdir()
    (path / "config.yaml").write_text(f"train: {{per_device_batch_size: {per_device}}}\ndata: {{group_size: {group}}}\n")
    (path / "loss_log.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.4 / s}) + "\n"
                                                 for s in range(1, steps + 1)))
    if evals:
        (path / "eval_log.jsonl").write_text("".join(json.dumps({"step": s, "metrics": {"ndcg@10": s / 100}}) + "\n"
                                                     for s in (0, steps)))
    return path


@pytest.mark.parametrize("with_evals", [True, False])
def test_plots_before_and_after(tmp_path, monkeypatch, with_evals):
    before = _run_folder(tmp_path / "before", 4, 4, 12, with_evals)
    after = _run_folder(tmp_path / "after", 8, 4, 20, False)
    out = tmp_path / "curves.png"
    monkeypatch.setattr(sys, "argv", ["compare_learning_curves.py", str(out), f"before={before}",
                                      f"after={after}:32", "--chance", "4"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "scripts" / "compare_learning_curves.py"), run_name="__main__")
    assert exit_info.value.code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_folder_without_a_loss_log_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["compare_learning_curves.py", str(tmp_path / "x.png"), f"run={tmp_path}"])
    with pytest.raises(SystemExit, match="no loss_log.jsonl"):
        runpy.run_path(str(ROOT / "scripts" / "compare_learning_curves.py"), run_name="__main__")
