"""Serving the fix: ``rerank_fix.load(path)`` gives a :class:`Deployment` (``rerank-fix serve`` serves one)."""
from __future__ import annotations

from rerank_fix.deploy.deployment import Decision, Deployment, load
from rerank_fix.deploy.policy import Action, ServingPolicy

__all__ = ["Action", "Decision", "Deployment", "ServingPolicy", "load"]
