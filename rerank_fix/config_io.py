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


# ------------------------------------------------------------------ one formatter for every config kind
def loc_text(loc: tuple[Any, ...]) -> str:
    """``("pipelines", 1, "stages")`` -> ``pipelines[1].stages``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def yaml_line(text: str | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node of ``loc`` found in the YAML text (keys missing in the text,
    such as the discriminator pydantic adds, are skipped)."""
    if not text:
        return None
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def validation_message(err: Mapping[str, Any], fields_hint: str = "") -> str:
    """pydantic's message for one error, in the project's words."""
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown field; check the spelling" + (f" (see {fields_hint} for every field)" if fields_hint else "")
    if kind == "missing":
        return "required field is missing"
    given = err.get("input")
    if not isinstance(given, (dict, list)) and kind != "value_error":
        msg += f" (got {given!r})"
    return msg


def format_validation_error(exc: Any, source: str, what: str = "config", text: str | None = None,
                            fields_hint: str = "", prefix: tuple[Any, ...] = ()) -> str:
    """Every problem of a pydantic ``ValidationError`` as ``file:line: field: message``, under one heading.

    Args:
        exc: The ValidationError.
        source: The file (or what stands for it, e.g. ``--set`` options).
        what: What kind of config it is, for the heading (``fine-tuning config``).
        text: The YAML text, to find each field's line.
        fields_hint: Where the user can see every field.
        prefix: Where the validated mapping sits in the file (e.g. ``("rewrite",)``).

    Example:
        >>> from pydantic import BaseModel, ConfigDict, ValidationError
        >>> class Cfg(BaseModel):
        ...     model_config = ConfigDict(extra="forbid")
        ...     depth: int = 5
        >>> try:
        ...     Cfg.model_validate({"depth": "deep", "dept": 3})
        ... except ValidationError as exc:
        ...     print(format_validation_error(exc, "x.yaml", "demo config", text="depth: deep\\ndept: 3\\n"))
        x.yaml: invalid demo config (2 problems)
          x.yaml:1: depth: Input should be a valid integer, unable to parse string as an integer (got 'deep')
          x.yaml:2: dept: unknown field; check the spelling
    """
    lines = []
    for err in exc.errors():
        loc = (*prefix, *err.get("loc", ()))
        line = yaml_line(text, loc)
        where = f"{source}:{line}" if line else source
        lines.append(f"{where}: {loc_text(tuple(err.get('loc', ())))}: {validation_message(err, fields_hint)}")
    head = f"{source}: invalid {what}" + (f" ({len(lines)} problems)" if len(lines) > 1 else "")
    return head + "\n  " + "\n  ".join(lines)
