"""``rerank-fix fix``: from an evaluation set to a proven, deployable per-stratum decision.

One concept per module: :mod:`.candidates` (what is tried), :mod:`.selection` (nested-CV routing),
:mod:`.guarantees` (what must hold), :mod:`.bundle` (writing it), :mod:`.loader` (running it again),
:mod:`.verdict` (the decision in words) and :mod:`.core` (the job).
"""
from __future__ import annotations

__all__ = ["Bundle", "FixResult", "fix", "load_bundle"]


def __getattr__(name: str):
    # Lazy: importing rerank_fix.fix stays cheap (no torch) until something is used.
    if name in ("fix", "FixResult"):
        from rerank_fix.fix import core

        return getattr(core, name)
    if name in ("load_bundle", "Bundle"):
        from rerank_fix.fix import loader

        return getattr(loader, name)
    raise AttributeError(name)
