"""Reading YAML configs with errors that name the file and line, shared by recipes and every config."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from rerank_fix.errors import ConfigError, one_line, quote


# A config needs a handful of aliases; a "billion laughs" document needs thousands of expansions. The cap is on
# the size the document would have with every alias expanded, counted without expanding it.
MAX_ALIASES = 1_000
MAX_EXPANDED_NODES = 200_000
MAX_YAML_BYTES = 16 * 1024 * 1024


def _loader_class():
    import yaml
    from yaml.constructor import ConstructorError
    from yaml.nodes import MappingNode, SequenceNode

    class Refused(ConstructorError):
        """A document that parses but is refused; its problem is already ``what — how to fix``."""

    class SafeStrictLoader(yaml.SafeLoader):
        """``safe_load`` that refuses duplicate keys and alias bombs, before anything is built from them."""

        def compose_document(self):
            node = super().compose_document()
            size = _expanded_size(node, {}, MappingNode, SequenceNode)
            if size > MAX_EXPANDED_NODES:
                raise Refused(None, None, f"the document expands to more than {MAX_EXPANDED_NODES:,} values "
                              "through its aliases (&anchor / *alias), an alias bomb — write the values out",
                              node.start_mark)
            return node

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self._aliases = getattr(self, "_aliases", 0) + 1
                if self._aliases > MAX_ALIASES:
                    event = self.peek_event()
                    raise Refused(None, None, f"more than {MAX_ALIASES} aliases (*name) — write the values out",
                                  event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                    seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # an unhashable key; the constructor below reports it
                    continue
                if first is not None:
                    from rerank_fix.errors import quote

                    raise Refused(None, None, f"duplicate key {quote(key, 40)} (first on line {first}) — keep "
                                  "one of them", key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    return SafeStrictLoader


def _expanded_size(node, memo: dict, mapping_type, sequence_type) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle (a recursive alias) counts once; a later check refuses it anyway
    if isinstance(node, mapping_type):
        size = 1 + sum(_expanded_size(k, memo, mapping_type, sequence_type)
                       + _expanded_size(v, memo, mapping_type, sequence_type) for k, v in node.value)
    elif isinstance(node, sequence_type):
        size = 1 + sum(_expanded_size(v, memo, mapping_type, sequence_type) for v in node.value)
    else:
        size = 1
    memo[key] = min(size, MAX_EXPANDED_NODES + 1)
    return memo[key]


def load_yaml_text(text: str, source: str = "YAML") -> Any:
    """Parse YAML text safely (no tags that build objects, no duplicate keys, no alias bombs).

    Errors are ConfigErrors naming ``source`` and the line.
    """
    import yaml

    try:
        return yaml.load(text, Loader=_loader_class())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = one_line(getattr(exc, "problem", None) or str(exc))
        if type(exc).__name__ == "Refused":
            raise ConfigError(f"{source}{where}: {problem}") from None
        raise ConfigError(f"{source}{where}: malformed YAML ({problem}) — fix the YAML on that line") from None
    except RecursionError:
        raise ConfigError(f"{source}: the YAML is nested too deeply — flatten it") from None


def read_yaml(path: str | Path, what: str = "config file", expect: type | None = dict) -> tuple[Any, str]:
    """``(parsed data, raw text)``; a missing file or malformed YAML is a ConfigError naming the line.

    Args:
        path: The YAML file.
        what: What the file is, for messages.
        expect: The type the top level must have (``dict``: a mapping); ``None`` accepts anything. An empty file
            is ``None``.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: the {what} is a folder — give the YAML file inside it")
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    raw = path.read_bytes()
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: the {what} is {len(raw) / 1e6:.0f} MB — a config is a few KB; check the path")
    from rerank_fix.core.textfile import decode_text

    text = decode_text(raw, path)
    data = load_yaml_text(text, str(path))
    if expect is dict and data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping (key: value lines) at the top of the {what}, got a "
                          f"{_yaml_kind(data)} — see the example configs")
    return data, text


def _yaml_kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__)


def require_mapping(value: Any, field: str, source: str) -> dict:
    """``value`` if it is a mapping (``None`` as empty); otherwise a ConfigError naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {field} must be a mapping (key: value lines), not a {_yaml_kind(value)}; "
                          "see the example configs")
    return value


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
    # Never echo what was given for a credential field: it may be a pasted key.
    secret = any("key" in str(p).lower() or "token" in str(p).lower() for p in err.get("loc", ()))
    if not isinstance(given, (dict, list)) and kind != "value_error" and not secret:
        from rerank_fix.net.secrets import redact

        msg += f" (got {redact(quote(given))})"
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
