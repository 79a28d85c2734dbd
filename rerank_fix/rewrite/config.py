"""Typed rewrite configuration (YAML-loadable) and the prompt template."""
from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.types import Message

TEMPLATE_FIELDS = frozenset({"query", "domain_hint"})

DEFAULT_SYSTEM_PROMPT = (
    "You rewrite search queries for a search engine over {domain_hint}. "
    "Correct spelling mistakes and typos so the query matches how the documents are written. "
    "Keep the meaning and the language; keep names, numbers, identifiers, abbreviations and code exactly as "
    "they are. Do not answer the query, do not explain, do not add words that are not needed. "
    "Reply with the rewritten query only, on a single line. If the query needs no change, repeat it unchanged."
)
DEFAULT_USER_PROMPT = "Query: {query}"
DEFAULT_DOMAIN_HINT = "a general collection of web passages"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_template(value: str, where: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{where} is not a valid template ({exc}); write literal braces as {{{{ and }}}}") from None
    unknown = fields - TEMPLATE_FIELDS
    if unknown:
        raise ValueError(f"{where} uses unknown placeholder(s) {sorted(unknown)}; "
                         f"only {{query}} and {{domain_hint}} are filled in (write literal braces as {{{{ }}}})")
    return value


class FewShotExample(_Strict):
    """One worked example shown to the model before the real query."""

    query: str = Field(min_length=1)
    rewrite: str = Field(min_length=1)


class PromptConfig(_Strict):
    """Chat prompt: a system message, optional worked examples, then the user message with the query.

    Args:
        system: System message; may use ``{domain_hint}``.
        user: User message; must use ``{query}``.
        examples: Worked examples, sent as user/assistant turns.

    Example:
        >>> msgs = PromptConfig().messages("do golddish grow", domain_hint="aquarium care pages")
        >>> msgs[0]["role"], msgs[-1]["content"]
        ('system', 'Query: do golddish grow')
    """

    system: str = DEFAULT_SYSTEM_PROMPT
    user: str = DEFAULT_USER_PROMPT
    examples: tuple[FewShotExample, ...] = (
        FewShotExample(query="wat is the defualt port of postgres 14",
                       rewrite="what is the default port of postgres 14"),
    )

    @field_validator("system")
    @classmethod
    def _system_ok(cls, value: str) -> str:
        return _check_template(value, "prompt.system")

    @field_validator("user")
    @classmethod
    def _user_ok(cls, value: str) -> str:
        _check_template(value, "prompt.user")
        if "{query}" not in value:
            raise ValueError("prompt.user must contain the placeholder {query}, where the query goes")
        return value

    def messages(self, query: str, domain_hint: str = DEFAULT_DOMAIN_HINT) -> list[Message]:
        """The chat messages for one query."""
        out: list[Message] = []
        if self.system.strip():
            out.append({"role": "system", "content": self.system.format(domain_hint=domain_hint, query=query)})
        for ex in self.examples:
            out.append({"role": "user", "content": self.user.format(query=ex.query, domain_hint=domain_hint)})
            out.append({"role": "assistant", "content": ex.rewrite})
        out.append({"role": "user", "content": self.user.format(query=query, domain_hint=domain_hint)})
        return out


class GateConfig(_Strict):
    """Built-in gates. With none set every query is rewritten; with both, ``combine`` decides.

    Args:
        max_tokens: Rewrite queries of at most this many tokens.
        oov_typo: Rewrite queries with out-of-vocabulary (typo-looking) words.
        min_oov: How many such words are needed.
        combine: ``any`` (union of the chosen strata) or ``all`` (intersection).
    """

    max_tokens: int | None = Field(default=None, ge=1)
    oov_typo: bool = False
    min_oov: int = Field(default=1, ge=1)
    combine: Literal["any", "all"] = "any"


class ValidationConfig(_Strict):
    """When a rewrite is rejected (and the original kept)."""

    max_length_ratio: float = Field(default=3.0, gt=1.0)
    max_extra_chars: int = Field(default=40, ge=0)
    require_overlap: bool = True


class SpellConfig(_Strict):
    """Settings of the offline spell backend; see :class:`~rerank_fix.rewrite.spell.SpellSettings`."""

    max_edit_distance: int = Field(default=2, ge=1, le=3)
    short_word_len: int = Field(default=7, ge=1)
    min_word_len: int = Field(default=3, ge=1)
    candidate_min_count: int = Field(default=1, ge=1)
    rare_word_max_count: int = Field(default=3, ge=0)
    rare_word_ratio: float = Field(default=20.0, gt=1.0)
    edit_penalty: float = Field(default=4.0, ge=0.0)
    context_weight: float = Field(default=1.0, ge=0.0)
    prefix_length: int = Field(default=7, ge=4)
    protected_words: tuple[str, ...] = ()
    keep_names: bool = True
    english_known_words: bool = True
    english_min_count: int = Field(default=1, ge=1)
    english_context_min_pairs: int = Field(default=3, ge=1)
    english_common_count: int = Field(default=1_000_000, ge=1)


class OpenAIConfig(_Strict):
    """OpenAI-compatible server; see :class:`~rerank_fix.rewrite.openai_compat.OpenAIChatClient`."""

    base_url: str = "http://localhost:8000/v1"
    model: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    max_retry_wait: float = Field(default=60.0, ge=0)
    max_concurrency: int = Field(default=4, ge=1)
    temperature: float | None = Field(default=0.0, ge=0)
    max_tokens: int | None = Field(default=64, ge=1)
    cache_dir: str | None = ".cache/rewrite"
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("api_key_env")
    @classmethod
    def _env_name_ok(cls, value: str | None) -> str | None:
        from rerank_fix.net.secrets import env_name_field

        return env_name_field(value)

    @field_validator("base_url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://, e.g. http://localhost:8000/v1")
        return value


class LlamaCppConfig(_Strict):
    """Local GGUF model; see :class:`~rerank_fix.rewrite.llamacpp.LlamaCppClient`."""

    gguf: str | None = None
    n_ctx: int = Field(default=2048, ge=128)
    n_threads: int | None = Field(default=None, ge=1)
    n_gpu_layers: int = 0
    temperature: float = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=64, ge=1)
    chat_format: str | None = None
    seed: int = 0
    cache_dir: str | None = ".cache/rewrite"


class CallableConfig(_Strict):
    """A Python function ``fn(messages) -> str`` named as ``package.module:function``."""

    target: str | None = None


class RewriteConfig(_Strict):
    """Everything the rewriter stage needs; every field has a working default (the offline spell backend).

    Args:
        backend: ``spell`` (default, no model), ``openai``, ``llamacpp`` or ``callable``.
        mode: ``replace`` the query, or ``fuse`` (retrieve with original and rewrite, then RRF).
        domain_hint: Described to the model, e.g. ``"biomedical abstracts"``.
        prompt: Prompt template.
        gate: Which queries to rewrite.
        validation: When to reject a rewrite.
        spell / openai / llamacpp / callable: Backend settings.

    Example:
        >>> cfg = RewriteConfig.model_validate({"backend": "openai", "openai": {"model": "gpt-4o-mini"}})
        >>> cfg.backend, cfg.openai.model, cfg.mode
        ('openai', 'gpt-4o-mini', 'replace')
    """

    backend: Literal["spell", "openai", "llamacpp", "callable"] = "spell"
    mode: Literal["replace", "fuse"] = "replace"
    domain_hint: str = DEFAULT_DOMAIN_HINT
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    spell: SpellConfig = Field(default_factory=SpellConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    llamacpp: LlamaCppConfig = Field(default_factory=LlamaCppConfig)
    callable: CallableConfig = Field(default_factory=CallableConfig)

    @model_validator(mode="after")
    def _backend_ready(self) -> RewriteConfig:
        if self.backend == "openai" and not self.openai.model:
            raise ValueError("backend 'openai' needs openai.model (or --model), e.g. gpt-4o-mini")
        if self.backend == "llamacpp" and not self.llamacpp.gguf:
            raise ValueError("backend 'llamacpp' needs llamacpp.gguf (or --gguf), the path to a .gguf model")
        if self.backend == "callable" and not self.callable.target:
            raise ValueError("backend 'callable' needs callable.target (or --backend module:function)")
        return self


def format_validation_error(exc: ValidationError, source: str, text: str | None = None,
                            prefix: tuple[Any, ...] = ()) -> str:
    """Every problem as ``file:line: field: message`` (the project's one config-error formatter)."""
    from rerank_fix.config_io import format_validation_error as format_error

    return format_error(exc, source, "rewrite config", text, "configs/rewrite/default.yaml", prefix)


def rewrite_config_from_dict(data: dict[str, Any] | None, source: str = "rewrite config",
                             text: str | None = None) -> RewriteConfig:
    """Validate a plain dict (e.g. parsed YAML) into a :class:`RewriteConfig`, raising ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}")
    # A config may nest everything under "rewrite:" so it can share a file with other stages.
    prefix: tuple[Any, ...] = ()
    if set(data) == {"rewrite"} and isinstance(data["rewrite"], dict):
        data, prefix = data["rewrite"], ("rewrite",)
    try:
        return RewriteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, text, prefix)) from None


def load_rewrite_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RewriteConfig:
    """Read a YAML rewrite config, apply ``overrides`` (nested dicts, e.g. from the CLI) and validate."""
    from rerank_fix.config_io import deep_merge, read_yaml

    path = Path(path)
    data, text = read_yaml(path, "rewrite config")
    data = {} if data is None else data
    # A non-mapping file is passed on as it is, so validation can say what shape was expected.
    if isinstance(data, dict) and set(data) == {"rewrite"} and isinstance(data["rewrite"], dict):
        merged = {"rewrite": deep_merge(data["rewrite"], overrides or {})}
    else:
        merged = deep_merge(data, overrides or {}) if isinstance(data, dict) else data
    return rewrite_config_from_dict(merged, str(path), text)
