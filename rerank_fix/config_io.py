"""Reading YAML configs with errors that name the file and line, shared by recipes and every config."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from rerank_fix.errors import ConfigError


def read_yaml(path: str | Path, what: str = "config file") -> tuple[Any, str]:
    """``(parsed data, raw text)``; a missing file or malformed YAML is a ConfigError naming the line."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: malformed YAML ({getattr(exc, 'problem', None) or exc})") from None


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top, recursing into mappings; neither input is modified."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_dotted_overrides(raw: dict[str, Any], overrides: Mapping[str, Any] | None, what: str = "config") -> dict[str, Any]:
    """Set ``section.key=value`` overrides (from ``--set``) on a copy of ``raw``."""
    import copy

    out = copy.deepcopy(raw)
    for dotted, value in (overrides or {}).items():
        node = out
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {dotted}: {key} is not a section of the {what}")
        node[leaf] = value
    return out
