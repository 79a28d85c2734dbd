"""Micro-batching: concurrent requests' pairs are scored together, one forward pass at a time.

While the model works on one batch, new requests queue up; the next batch takes all of them (up to
``max_pairs``), so under load the model sees large batches and idle servers answer without waiting.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from rerank_fix.serve.memory import HeapTrimmer


@dataclass
class _Job:
    reranker: str
    raw: bool
    pairs: Sequence[tuple[str, str]]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Collect scoring jobs from many requests and run them in shared batches on one worker thread.

    Args:
        scorers: ``reranker name -> fn(pairs, raw) -> np.ndarray``.
        max_pairs: Pairs per model call (a job is never split).
        max_wait: Seconds to wait for more jobs once the first arrives (0: take only what is queued).
        trim_interval: After a batch, freed heap memory goes back to the OS at most this often (seconds;
            None: never). Without it a long-running server's RSS climbs (see :mod:`rerank_fix.serve.memory`).

    Example:
        >>> batcher = MicroBatcher({"m": lambda pairs, raw: np.ones(len(pairs))})
        >>> async def demo():
        ...     await batcher.start()
        ...     out = await batcher.score("m", [("q", "d")])
        ...     await batcher.stop()
        ...     return out.tolist()
        >>> asyncio.run(demo())
        [1.0]
    """

    def __init__(self, scorers: Mapping[str, Callable[..., np.ndarray]], max_pairs: int = 256,
                 max_wait: float = 0.002, trim_interval: float | None = 1.0) -> None:
        self.scorers = dict(scorers)
        self.max_pairs = max_pairs
        self.max_wait = max_wait
        self.stats = {"batches": 0, "jobs": 0, "pairs": 0, "largest_batch": 0}
        self._queue: asyncio.Queue[_Job | None] | None = None
        self._task: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rerank-fix-model")
        self.trimmer = HeapTrimmer(trim_interval) if trim_interval is not None else None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish every queued job, then stop (graceful shutdown)."""
        if self._queue is not None and self._task is not None:
            await self._queue.put(None)
            await self._task
        self._pool.shutdown(wait=True)

    async def score(self, reranker: str, pairs: Sequence[tuple[str, str]], raw: bool = False) -> np.ndarray:
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not awaited")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(reranker, raw, pairs, future))
        return await future

    async def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        assert self._queue is not None
        jobs, size, stopping = [first], len(first.pairs), False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while size < self.max_pairs:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            if job is None:
                stopping = True
                break
            jobs.append(job)
            size += len(job.pairs)
        return jobs, stopping

    def _score(self, name: str, pairs: list[tuple[str, str]], raw: bool) -> np.ndarray:
        try:
            return self.scorers[name](pairs, raw)
        finally:
            if self.trimmer is not None:
                self.trimmer.maybe_trim()

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            if first is None:
                return
            jobs, stopping = await self._collect(first)
            groups: dict[tuple[str, bool], list[_Job]] = {}
            for job in jobs:
                groups.setdefault((job.reranker, job.raw), []).append(job)
            for (name, raw), members in groups.items():
                pairs = [p for job in members for p in job.pairs]
                self.stats["batches"] += 1
                self.stats["jobs"] += len(members)
                self.stats["pairs"] += len(pairs)
                self.stats["largest_batch"] = max(self.stats["largest_batch"], len(pairs))
                try:
                    scores = await loop.run_in_executor(self._pool, self._score, name, pairs, raw)
                except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
                    for job in members:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    continue
                offset = 0
                for job in members:
                    if not job.future.done():
                        job.future.set_result(np.asarray(scores[offset:offset + len(job.pairs)]))
                    offset += len(job.pairs)
            if stopping:
                return
