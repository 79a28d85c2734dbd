"""Rerankers behind an HTTP API, scored through the shared client in :mod:`rerank_fix.net`.

One request shape per vendor family is a *preset* of :class:`HttpRerankerConfig`: the route, the name of the
documents field, where the results list sits in the answer and what its index / score fields are called.
A preset can be adjusted field by field for near-variants, so a new vendor is usually configuration, not code.

A reranker can be named by a URI (``diagnose --reranker``, ``rerank: {model: ...}``)::

    http+tei://127.0.0.1:8080                       TEI  POST /rerank
    https+cohere://api.cohere.com?model=rerank-v3.5&api_key_env=COHERE_API_KEY
    https+voyage://api.voyageai.com?model=rerank-2&api_key_env=VOYAGE_API_KEY

or by a ``models.NAME.http`` block in a recipe / ``configs/models.yaml`` with the same fields.
"""
from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rerank_fix.errors import ConfigError, UserInputError
from rerank_fix.rerank.base import Reranker

#: Request/response shapes. ``results_field`` "" means the answer body is the results list itself.
PRESETS: dict[str, dict[str, Any]] = {
    "tei": {"path": "/rerank", "documents_field": "texts", "results_field": "", "index_field": "index",
            "score_field": "score", "top_n_field": None, "model_field": None},
    "cohere": {"path": "/v1/rerank", "documents_field": "documents", "results_field": "results",
               "index_field": "index", "score_field": "relevance_score", "top_n_field": "top_n"},
    "jina": {"path": "/v1/rerank", "documents_field": "documents", "results_field": "results",
             "index_field": "index", "score_field": "relevance_score", "top_n_field": "top_n"},
    "voyage": {"path": "/v1/rerank", "documents_field": "documents", "results_field": "data",
               "index_field": "index", "score_field": "relevance_score", "top_n_field": "top_k"},
    "mixedbread": {"path": "/v1/reranking", "documents_field": "input", "results_field": "data",
                   "index_field": "index", "score_field": "score", "top_n_field": "top_k"},
    "pinecone": {"path": "/rerank", "documents_field": "documents", "results_field": "data",
                 "index_field": "index", "score_field": "score", "top_n_field": "top_n",
                 "document_key": "text"},
}
URI_SCHEMES = tuple(f"{t}+{api}" for t in ("http", "https") for api in PRESETS)


class RemoteRerankerError(UserInputError):
    """A reranking service failed after its retries (unreachable, refused, timed out, wrong answer)."""


class HttpRerankerConfig(BaseModel):
    """Where and how to call a reranking API; unset mapping fields come from the ``api`` preset.

    Args:
        api: Preset: ``tei``, ``cohere``, ``jina``, ``voyage``, ``mixedbread`` or ``pinecone``.
        url: Server root (``http://127.0.0.1:8080``, ``https://api.cohere.com``).
        path: Route, e.g. ``/rerank``; default from the preset.
        model: Model name sent in the request (hosted APIs need one; TEI ignores it).
        api_key_env: NAME of the environment variable holding the key.
        auth_header / auth_prefix: Where the key goes (default ``Authorization: Bearer <key>``).
        max_documents: Documents per request; longer lists are split.
        timeout: Whole-request deadline per attempt, seconds.
        max_retries / max_retry_wait / max_concurrency / cache_dir: See :class:`~rerank_fix.net.JsonHttpClient`.
        raw_scores / truncate: TEI options (raw logits instead of sigmoid; truncate long inputs).
        documents_field / results_field / index_field / score_field / top_n_field / model_field /
            document_key: The response mapping (``results_field`` may be dotted, ``""`` for a bare list;
            ``document_key`` sends documents as ``{key: text}`` objects).
        extra_body: Extra JSON fields sent with every request.

    Example:
        >>> cfg = HttpRerankerConfig.from_uri("http+tei://127.0.0.1:8080?max_documents=16")
        >>> cfg.api, cfg.url, cfg.resolved()["path"], cfg.max_documents
        ('tei', 'http://127.0.0.1:8080', '/rerank', 16)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api: Literal["tei", "cohere", "jina", "voyage", "mixedbread", "pinecone"] = "tei"
    url: str
    path: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    auth_header: str = "Authorization"
    auth_prefix: str = "Bearer "
    max_documents: int = Field(32, ge=1, le=10_000)
    timeout: float = Field(30.0, gt=0)
    max_retries: int = Field(3, ge=0, le=20)
    max_retry_wait: float = Field(60.0, ge=0)
    max_concurrency: int = Field(4, ge=1, le=256)
    cache_dir: str | None = None
    raw_scores: bool = False
    truncate: bool = True
    documents_field: str | None = None
    results_field: str | None = None
    index_field: str | None = None
    score_field: str | None = None
    top_n_field: str | None = None
    model_field: str | None = None
    document_key: str | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:8080")
        if "@" in urlsplit(value).netloc or "?" in value:
            # Credentials in a URL end up in reports and logs; the key belongs in an environment variable.
            raise ValueError("must not carry credentials or a query string; put the key in an environment "
                             "variable and name it in api_key_env")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name_ok(cls, value: str | None) -> str | None:
        from rerank_fix.net.secrets import env_name_field

        return env_name_field(value)

    def resolved(self) -> dict[str, Any]:
        """Every mapping field, the preset's value where this config leaves it unset."""
        preset = {"model_field": "model", "document_key": None, **PRESETS[self.api]}
        out = {}
        for name in ("path", "documents_field", "results_field", "index_field", "score_field", "top_n_field",
                     "model_field", "document_key"):
            out[name] = getattr(self, name) if name in self.model_fields_set else preset.get(name)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "http reranker") -> "HttpRerankerConfig":
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            from rerank_fix.rewrite.config import format_validation_error

            raise ConfigError(format_validation_error(exc, source).replace("\n", "; ")) from None

    @classmethod
    def from_uri(cls, uri: str) -> "HttpRerankerConfig":
        """``http+tei://host:port[/prefix]?field=value&...`` (the path part is the server root's prefix)."""
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme not in URI_SCHEMES:
            raise ConfigError(f"reranker URI must start with one of {', '.join(s + '://' for s in URI_SCHEMES[:2])}"
                              f" ... (api: {', '.join(PRESETS)}), e.g. http+tei://127.0.0.1:8080")
        transport, api = scheme.split("+", 1)
        parts = urlsplit(f"{transport}://{rest}")
        if not parts.netloc:
            raise ConfigError(f"reranker URI {uri!r} has no host, e.g. http+tei://127.0.0.1:8080")
        fields: dict[str, Any] = {"api": api, "url": f"{transport}://{parts.netloc}{parts.path}".rstrip("/")}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in fields:
                raise ConfigError(f"reranker URI: {key!r} given twice")
            fields[key] = None if value in ("", "none", "null") and key != "auth_prefix" else value
        if isinstance(fields.get("extra_body"), str):
            try:
                fields["extra_body"] = json.loads(fields["extra_body"])
            except ValueError:
                raise ConfigError("reranker URI: extra_body must be a JSON object") from None
        return cls.from_dict(fields, f"reranker URI {parts.scheme}+{api}://{parts.netloc}")


    def to_uri(self) -> str:
        """The URI form (round-trips through :meth:`from_uri`); holds the key's variable name, never a key."""
        transport, _, rest = self.url.partition("://")
        params = {}
        for name in sorted(self.model_fields_set - {"api", "url"}):
            value = getattr(self, name)
            if isinstance(value, dict):
                value = json.dumps(value, sort_keys=True, separators=(",", ":"))
            elif isinstance(value, bool):
                value = str(value).lower()
            params[name] = "" if value is None else value
        return f"{transport}+{self.api}://{rest}" + (f"?{urlencode(params)}" if params else "")


def is_http_reranker(spec: object) -> bool:
    """Whether a model reference names an HTTP reranker (a URI or an ``http:`` block)."""
    if isinstance(spec, Mapping):
        return "http" in spec
    return isinstance(spec, str) and spec.startswith(tuple(s + "://" for s in URI_SCHEMES))


def named_http_reranker(name: str, models_file: str | Path = "configs/models.yaml") -> dict[str, Any] | None:
    """The ``http:`` block of ``models.<name>`` in the project's ``configs/models.yaml``, if it has one."""
    path = Path(models_file)
    if "/" in name or ":" in name or not path.is_file():
        return None
    from rerank_fix.config_io import read_yaml

    data, _ = read_yaml(path, "models file")
    spec = ((data or {}).get("models") or {}).get(name) if isinstance(data, dict) else None
    if isinstance(spec, dict) and isinstance(spec.get("http"), dict):
        return spec["http"]
    return None


def build_http_reranker(spec: "str | Mapping[str, Any] | HttpRerankerConfig", name: str = "rerank") -> "HttpReranker":
    """The registered backend for a URI, an ``http:`` block (or its contents), or a config."""
    from rerank_fix.rerank.base import SCORERS

    if isinstance(spec, HttpRerankerConfig):
        config = spec
    elif isinstance(spec, str):
        config = HttpRerankerConfig.from_uri(spec)
    else:
        config = HttpRerankerConfig.from_dict(spec.get("http", spec) if "http" in spec else spec)
    backend = "http-tei" if config.api == "tei" else "http-cohere"
    return SCORERS.get(backend)(config, name=name)


class HttpReranker(Reranker):
    """Score ``(query, document)`` pairs with a remote reranking API.

    Pairs are grouped by query (consecutive pairs with the same query go in one request, split at
    ``max_documents``), requests run ``max_concurrency`` at a time, and each answer is checked: every
    document index exactly once, finite scores.

    Args:
        config: Where and how to call the API.
        name: Stage name in runs and reports.

    Raises:
        RemoteRerankerError: when a request still fails after its retries.
    """

    api = "tei"

    def __init__(self, config: "HttpRerankerConfig | Mapping[str, Any] | str", name: str = "rerank") -> None:
        from rerank_fix.net.client import JsonHttpClient

        if isinstance(config, str):
            config = HttpRerankerConfig.from_uri(config)
        elif not isinstance(config, HttpRerankerConfig):
            config = HttpRerankerConfig.from_dict({"api": self.api, **dict(config)})
        self.config = config
        self.mapping = config.resolved()
        self.name = name
        self.client = JsonHttpClient(config.url, api_key_env=config.api_key_env, auth_header=config.auth_header,
                                     auth_prefix=config.auth_prefix, timeout=config.timeout,
                                     max_retries=config.max_retries, max_retry_wait=config.max_retry_wait,
                                     max_concurrency=config.max_concurrency, cache_dir=config.cache_dir)

    # ------------------------------------------------------------------ request / answer shapes
    def payload(self, query: str, documents: Sequence[str]) -> dict[str, Any]:
        m = self.mapping
        key = m["document_key"]
        body: dict[str, Any] = {"query": query,
                                m["documents_field"]: [{key: d} for d in documents] if key else list(documents)}
        if m["model_field"] and self.config.model:
            body[m["model_field"]] = self.config.model
        if m["top_n_field"]:
            body[m["top_n_field"]] = len(documents)
        return {**body, **self.extra_fields(), **self.config.extra_body}

    def extra_fields(self) -> dict[str, Any]:
        """Backend-specific request fields (TEI's ``raw_scores`` / ``truncate``)."""
        return {}

    def parse(self, answer: Any, n: int) -> list[float]:
        """Scores in document order from an answer, checked against the mapping."""
        from rerank_fix.net.client import HttpError

        m = self.mapping
        results = answer
        for part in (m["results_field"] or "").split("."):
            if part:
                results = results.get(part) if isinstance(results, dict) else None
        if not isinstance(results, list):
            where = m["results_field"] or "the body"
            raise HttpError("malformed_response", f"expected a list at {where!r} of the answer")
        scores: list[float | None] = [None] * n
        for item in results:
            index = item.get(m["index_field"]) if isinstance(item, dict) else None
            score = item.get(m["score_field"]) if isinstance(item, dict) else None
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise HttpError("malformed_response", f"result without a valid {m['index_field']!r} (0..{n - 1})")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise HttpError("malformed_response", f"result {index} has no finite {m['score_field']!r}")
            if scores[index] is not None:
                raise HttpError("malformed_response", f"document {index} scored twice")
            scores[index] = float(score)
        missing = [i for i, s in enumerate(scores) if s is None]
        if missing:
            raise HttpError("malformed_response", f"{len(missing)} of {n} documents have no score "
                                                  f"(first: {missing[0]}); is top_n honoured?")
        return [float(s) for s in scores]  # type: ignore[arg-type]

    # ------------------------------------------------------------------ scoring
    def _request(self, query: str, documents: list[str]) -> list[float]:
        from rerank_fix.net.client import HttpError

        path = self.mapping["path"]
        payload = self.payload(query, documents)
        key = self.client.cache_key(path, self.config.model, payload)
        hit = self.client.cache_get(key)
        if isinstance(hit, list) and len(hit) == len(documents):
            return [float(s) for s in hit]
        try:
            scores = self.parse(self.client.post_json(path, payload), len(documents))
        except HttpError as exc:
            raise RemoteRerankerError(
                f"reranker {self.client.redact(self.client.url(path))} failed: {exc.reason}"
                f"{' (' + exc.detail + ')' if exc.detail else ''} - check that the server is up"
                f"{', the key in $' + self.config.api_key_env if self.config.api_key_env else ''}"
                " and the api / model settings") from None
        self.client.cache_put(key, scores)
        return scores

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        jobs: list[tuple[int, str, list[str]]] = []  # (offset, query, documents)
        start = 0
        while start < len(pairs):
            query = pairs[start][0]
            end = start
            while end < len(pairs) and pairs[end][0] == query and end - start < self.config.max_documents:
                end += 1
            jobs.append((start, query, [d for _, d in pairs[start:end]]))
            start = end
        out = np.zeros(len(pairs), dtype=np.float32)
        if not jobs:
            return out
        workers = min(self.config.max_concurrency, len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rerank-fix-http") as pool:
            for (offset, _, docs), scores in zip(jobs, pool.map(lambda j: self._request(j[1], j[2]), jobs)):
                out[offset:offset + len(docs)] = scores
        return out

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client.redact(self.config.url)!r}, api={self.config.api!r})"
