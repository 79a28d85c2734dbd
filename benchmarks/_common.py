"""Shared measuring helpers for the benchmarks: wall time and peak memory of one contender.

Each contender runs in a fresh subprocess so peak RSS is its own, not the sum of everything run before.
Python-level peak (tracemalloc, which numpy reports to) is given as well, since RSS includes shared libs.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(ROOT))


def require(name: str) -> Path:
    path = SHARED / name
    if not (path / "corpus.jsonl").is_file():
        sys.exit(f"benchmark needs {path} (see ../shared/data/README.md)")
    return path


def _child(fn: Callable[..., Any], args: tuple, queue) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args)
    wall = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"wall_s": wall, "py_peak_mb": peak / 2**20, "rss_peak_mb": rss_kb / 1024, "result": result})


def measure(fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh process; return wall seconds, peak memory and fn's (picklable) result."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def row(name: str, m: dict[str, Any], reference: dict[str, Any] | None = None) -> str:
    ratio = f"{reference['wall_s'] / m['wall_s']:.2f}x" if reference else "1.00x"
    return f"{name:<38} {m['wall_s']:>9.2f} s {ratio:>8} {m['rss_peak_mb']:>9.0f} MB {m['py_peak_mb']:>9.1f} MB"


HEADER = f"{'contender':<38} {'wall':>11} {'speed':>8} {'peak RSS':>12} {'py peak':>12}"
