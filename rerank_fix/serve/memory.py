"""Hand freed heap memory back to the OS, so a long-running server's RSS stays flat.

glibc gives each thread that allocates its own malloc arena (up to 8 per core). The model worker and
torch's intra-op threads free their batch tensors into those arenas, but glibc returns an arena's pages
to the OS only from its top, so a server scoring batches of varying shapes keeps the freed memory and
its RSS climbs for as long as it runs (benchmarks/README.md, "bench_serve": +533 MB over 758 requests).
``malloc_trim(0)`` walks every arena and releases the free pages inside it, which is what
``MALLOC_ARENA_MAX=2`` achieved from outside the process, without the user having to set it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Callable


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class HeapTrimmer:
    """Call ``malloc_trim(0)`` at most once every ``interval`` seconds.

    A trim walks every arena (a few milliseconds on a model-sized heap), so the batcher calls
    :meth:`maybe_trim` after each batch and the interval keeps the cost a small fraction of serving time.

    Args:
        interval: Minimum seconds between two trims; 0 trims after every call.
        clock: Monotonic clock (a parameter for tests).

    Example:
        >>> trimmer = HeapTrimmer(interval=0.0)
        >>> trimmer.maybe_trim() in (True, False)   # False only where the C library has no malloc_trim
        True
    """

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.trims = 0
        self._trim = _load_malloc_trim()
        self._last = float("-inf")

    @property
    def available(self) -> bool:
        return self._trim is not None

    def maybe_trim(self) -> bool:
        """Trim if the interval has passed; True when a trim ran."""
        if self._trim is None:
            return False
        now = self.clock()
        if now - self._last < self.interval:
            return False
        self._trim(0)
        self._last = self.clock()
        self.trims += 1
        return True
