"""Checkpoints that survive SIGKILL, and logs that stay gap-free across a resume.

transformers writes a checkpoint file by file (weights, optimizer, scheduler, RNG, trainer state) and
then deletes old ones, so a process killed at the wrong moment leaves a partial checkpoint. Ours is
complete only once ``rerank_fix_state.json`` is written, atomically, after everything else; resuming
takes the newest complete one. Logs are append-only JSONL; on resume they are cut back to the
checkpoint's step, so the steps re-run after it are logged exactly once.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

STATE_FILE = "rerank_fix_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Files transformers must have written for a resume to restore the full training state.
_REQUIRED = ("trainer_state.json", "optimizer.pt", "scheduler.pt")


def write_json_atomic(path: Path, obj: Any) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _has_weights(folder: Path) -> bool:
    return any(folder.rglob("*.safetensors")) or any(folder.rglob("pytorch_model*.bin"))


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` is a checkpoint that can be resumed from."""
    state = folder / STATE_FILE
    if not state.is_file() or not _has_weights(folder):
        return False
    if not all((folder / name).is_file() for name in _REQUIRED) or not any(folder.glob("rng_state*.pth")):
        return False
    try:
        json.loads(state.read_text(encoding="utf-8"))
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return True


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """All ``checkpoint-N`` folders, by step."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def latest_complete_checkpoint(folder: Path) -> Path | None:
    for _, path in reversed(checkpoints(folder)):
        if is_complete(path):
            return path
    return None


def read_state(checkpoint: Path) -> dict[str, Any]:
    return json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))


def read_log(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL log; a torn last line (killed mid-write) is skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_log(path: Path, max_step: int) -> int:
    """Keep records with ``step <= max_step``; returns how many were dropped."""
    records = read_log(path)
    kept = [r for r in records if int(r.get("step", 0)) <= max_step]
    if path.exists():
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        tmp.replace(path)
    return len(records) - len(kept)


def append_log(path: Path, record: dict[str, Any]) -> None:
    # One write + flush per record: after SIGKILL the OS still holds every completed line.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def replace_dir_atomic(tmp: Path, target: Path) -> None:
    """Move a fully written ``tmp`` folder to ``target``, replacing it; a reader never sees a half folder."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old)
