"""The heap trimmer that keeps a long-running server's RSS flat (serve/memory.py)."""
import asyncio

import numpy as np
import pytest

from rerank_fix.serve.batcher import MicroBatcher
from rerank_fix.serve.memory import HeapTrimmer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_trims_at_most_once_per_interval():
    clock = FakeClock()
    trimmer = HeapTrimmer(interval=1.0, clock=clock)
    if not trimmer.available:
        pytest.skip("this C library has no malloc_trim")
    assert trimmer.maybe_trim() is True
    clock.now += 0.5
    assert trimmer.maybe_trim() is False
    clock.now += 0.6
    assert trimmer.maybe_trim() is True
    assert trimmer.trims == 2


def test_without_malloc_trim_it_does_nothing(monkeypatch):
    monkeypatch.setattr("rerank_fix.serve.memory._load_malloc_trim", lambda: None)
    trimmer = HeapTrimmer(interval=0.0)
    assert not trimmer.available
    assert trimmer.maybe_trim() is False and trimmer.trims == 0


def test_batcher_trims_in_the_model_thread_after_a_batch_even_when_scoring_fails():
    def failing(pairs, raw):
        raise ValueError("model failed")

    batcher = MicroBatcher({"ok": lambda pairs, raw: np.ones(len(pairs)), "bad": failing}, trim_interval=0.0)
    if not batcher.trimmer.available:
        pytest.skip("this C library has no malloc_trim")

    async def run():
        await batcher.start()
        ok = await batcher.score("ok", [("q", "d")] * 3)
        with pytest.raises(ValueError, match="model failed"):
            await batcher.score("bad", [("q", "d")])
        await batcher.stop()
        return ok

    assert asyncio.run(run()).tolist() == [1.0, 1.0, 1.0]
    assert batcher.trimmer.trims == 2


def test_trimming_can_be_switched_off():
    assert MicroBatcher({}, trim_interval=None).trimmer is None
