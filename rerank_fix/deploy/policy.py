"""``serving.json``: which second-stage action each query gets (format ``rerank-fix-serving/1``).

An exported reranker folder has no policy: it is served as ``{"action": "rerank"}`` on every document.
A fix bundle states one action per stratum, with a stratifier that labels a live query.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rerank_fix.errors import ConfigError

FORMAT = "rerank-fix-serving/1"
ACTIONS = ("keep", "rerank", "blend")
UNLIMITED = 1 << 30


@dataclass(frozen=True)
class Action:
    """One second-stage decision.

    Args:
        action: ``keep`` (stage-one order), ``rerank`` (reranker order on the first ``depth``) or ``blend``.
        reranker: Name of the reranker (keys of ``serving.json``'s ``rerankers``).
        depth: Documents the reranker sees; the rest keep their order below them.
        stage_one_weight: ``blend`` only: share of the min-max normalised stage-one score.
    """

    action: str
    reranker: str | None = None
    depth: int = UNLIMITED
    stage_one_weight: float = 0.0

    @classmethod
    def parse(cls, data: Any, where: str, rerankers: Mapping[str, Any]) -> "Action":
        if not isinstance(data, Mapping) or data.get("action") not in ACTIONS:
            raise ConfigError(f"{where}: expected {{\"action\": one of {', '.join(ACTIONS)}, ...}}")
        kind = data["action"]
        if kind == "keep":
            return cls("keep")
        name = data.get("reranker")
        if name not in rerankers:
            raise ConfigError(f"{where}: reranker {name!r} is not in rerankers ({', '.join(rerankers) or 'none'})")
        depth = data.get("depth", UNLIMITED)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ConfigError(f"{where}: depth must be a positive integer, got {depth!r}")
        weight = 0.0
        if kind == "blend":
            weight = data.get("stage_one_weight")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
                raise ConfigError(f"{where}: stage_one_weight must be a number in [0, 1], got {weight!r}")
        return cls(kind, name, depth, float(weight))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        if self.action != "keep":
            out.update(reranker=self.reranker, depth=None if self.depth == UNLIMITED else self.depth)
        if self.action == "blend":
            out["stage_one_weight"] = self.stage_one_weight
        return out


@dataclass
class ServingPolicy:
    """Per-stratum actions, the stratifier that labels queries, and where each reranker's model is."""

    default: Action
    strata: dict[str, Action] = field(default_factory=dict)
    stratifier: dict[str, Any] | None = None
    rerankers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def single(cls, model_path: str) -> "ServingPolicy":
        """Rerank everything with one model (an exported reranker folder)."""
        return cls(Action("rerank", "model"), rerankers={"model": {"path": model_path}})

    @classmethod
    def load(cls, path: str | Path) -> "ServingPolicy":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read ({type(exc).__name__}) - is it the serving.json of a fix bundle?") \
                from None
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc}) - rewrite it with rerank-fix fix") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "serving.json") -> "ServingPolicy":
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a JSON object")
        if data.get("format") != FORMAT:
            raise ConfigError(f"{source}: format {data.get('format')!r} is not {FORMAT!r}; "
                              "regenerate the bundle with this version of rerank-fix")
        rerankers = data.get("rerankers") or {}
        if not isinstance(rerankers, Mapping) or any(
                not isinstance(v, Mapping) or not ({"path", "model"} & set(v)) for v in rerankers.values()):
            raise ConfigError(f"{source}: rerankers must map names to {{\"path\": ...}} or {{\"model\": ...}}")
        strata = data.get("strata") or {}
        if not isinstance(strata, Mapping):
            raise ConfigError(f"{source}: strata must map stratum labels to actions")
        stratifier = data.get("stratifier")
        if stratifier is not None and not isinstance(stratifier, Mapping):
            raise ConfigError(f"{source}: stratifier must be null or an object")
        return cls(default=Action.parse(data.get("default", {"action": "keep"}), f"{source}: default", rerankers),
                   strata={str(k): Action.parse(v, f"{source}: strata.{k}", rerankers) for k, v in strata.items()},
                   stratifier=dict(stratifier) if stratifier else None,
                   rerankers={k: dict(v) for k, v in rerankers.items()})

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "stratifier": self.stratifier, "default": self.default.as_dict(),
                "strata": {k: v.as_dict() for k, v in self.strata.items()}, "rerankers": self.rerankers}
