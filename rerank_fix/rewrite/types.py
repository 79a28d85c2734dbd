"""Uniform result types shared by every rewrite backend and the rewriter stage."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rerank_fix.core.text import percentile

#: One chat message, OpenAI style: ``{"role": "system" | "user" | "assistant", "content": "..."}``.
Message = Mapping[str, str]

REWRITTEN = "rewritten"
UNCHANGED = "unchanged"
SKIPPED = "skipped"
REJECTED = "rejected"
FALLBACK = "fallback"

#: The status kinds, in the order summaries list them.
STATUS_KINDS = (REWRITTEN, UNCHANGED, REJECTED, FALLBACK, SKIPPED)


def status_kind(status: str) -> str:
    """``"rejected:too_long"`` -> ``"rejected"``; plain statuses map to themselves."""
    return status.split(":", 1)[0]


@dataclass(frozen=True)
class BackendOutput:
    """What a backend returns for one query: a candidate text, or the reason it has none.

    Args:
        text: The backend's raw answer (before sanitising), or None when it failed.
        error: Why there is no answer (``timeout``, ``http_500``, ``malformed_response`` ...); None on success.
        latency_ms: Wall time the backend spent on this query.
        cached: True when the answer came from the on-disk cache rather than the model.

    Example:
        >>> BackendOutput("do goldfish grow", None, 12.5).ok
        True
    """

    text: str | None
    error: str | None = None
    latency_ms: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


@dataclass(frozen=True)
class RewriteResult:
    """The outcome for one query. ``rewritten`` is always usable: it equals ``original`` unless the status
    is ``rewritten``, so a failure never loses a query.

    Args:
        query_id: The query's id.
        original: The text the user gave.
        rewritten: The text to retrieve with.
        status: ``rewritten``, ``unchanged``, ``skipped``, ``rejected:<reason>`` or ``fallback:<reason>``.
        latency_ms: Time the rewrite added for this query (0 when skipped).
        candidate: The sanitised backend answer, kept for inspection when it was rejected.
        cached: True when the backend answer came from the cache.

    Example:
        >>> r = RewriteResult("q1", "do golddish grow", "do goldfish grow", "rewritten", 0.4)
        >>> r.changed, r.kind
        (True, 'rewritten')
    """

    query_id: str
    original: str
    rewritten: str
    status: str
    latency_ms: float = 0.0
    candidate: str | None = None
    cached: bool = False

    @property
    def kind(self) -> str:
        return status_kind(self.status)

    @property
    def changed(self) -> bool:
        return self.rewritten != self.original

    def to_dict(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "original": self.original,
            "rewritten": self.rewritten,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "candidate": self.candidate,
            "cached": self.cached,
        }


@dataclass(frozen=True)
class RewriteSummary:
    """Counts per status and the latency the rewriting added.

    Args:
        backend: Backend name, e.g. ``spell`` or ``openai:gpt-4o-mini``.
        mode: ``replace`` or ``fuse``.
        n_queries: Queries seen (every one is in the output).
        counts: Full status string -> count, e.g. ``{"rewritten": 30, "fallback:timeout": 2}``.
        latency_ms_p50: Median added latency over the queries sent to the backend (skipped ones excluded).
        latency_ms_p95: 95th percentile of the same.
        n_cached: Backend answers served from the cache.

    Example:
        >>> s = RewriteSummary.from_results([RewriteResult("q", "a", "a", "skipped")], backend="spell")
        >>> s.counts
        {'skipped': 1}
    """

    backend: str
    mode: str
    n_queries: int
    counts: dict[str, int]
    latency_ms_p50: float
    latency_ms_p95: float
    n_cached: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_results(cls, results: Sequence[RewriteResult], backend: str, mode: str = "replace") -> RewriteSummary:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        by_kind = {kind: 0 for kind in STATUS_KINDS}
        for status, n in counts.items():
            by_kind[status_kind(status)] += n
        attempted = [r.latency_ms for r in results if r.status != SKIPPED]
        return cls(
            backend=backend,
            mode=mode,
            n_queries=len(results),
            counts=dict(sorted(counts.items(), key=lambda kv: (STATUS_KINDS.index(status_kind(kv[0])), kv[0]))),
            latency_ms_p50=percentile(attempted, 50),
            latency_ms_p95=percentile(attempted, 95),
            n_cached=sum(r.cached for r in results),
            by_kind=by_kind,
        )

    def to_dict(self) -> dict[str, Any]:
        def _num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 3)

        return {
            "backend": self.backend,
            "mode": self.mode,
            "n_queries": self.n_queries,
            "counts": dict(self.counts),
            "by_kind": dict(self.by_kind),
            "latency_ms_p50": _num(self.latency_ms_p50),
            "latency_ms_p95": _num(self.latency_ms_p95),
            "n_cached": self.n_cached,
        }
