"""OpenAI-compatible ``/chat/completions`` client over httpx (OpenAI, vLLM, Ollama, llama.cpp server)."""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Mapping, Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.net.client import RETRY_STATUSES, HttpError, JsonHttpClient, parse_retry_after
from rerank_fix.rewrite.clients import ChatClient, ChatClientError
from rerank_fix.rewrite.types import Message

logger = logging.getLogger("rerank_fix.rewrite")

__all__ = ["RETRY_STATUSES", "OpenAIChatClient", "parse_retry_after"]

#: Part of every cache key: bump when the way prompts are rendered changes, so old answers are not reused.
PROMPT_FORMAT_VERSION = 1


class OpenAIChatClient(ChatClient):
    """Chat completions over HTTP with retries, a concurrency limit and an on-disk answer cache.

    The API key is read from the environment variable named by ``api_key_env`` and only ever placed in
    the ``Authorization`` header; it never appears in logs, errors or ``repr``.

    Args:
        base_url: Server root including the version prefix, e.g. ``https://api.openai.com/v1``,
            ``http://localhost:8000/v1`` (vLLM), ``http://localhost:11434/v1`` (Ollama),
            ``http://localhost:8080/v1`` (llama.cpp server).
        model: Model name sent in the request.
        api_key_env: Name of the environment variable holding the key; None or unset sends no key
            (local servers need none).
        timeout: Whole-request deadline in seconds (connect, send, wait and read together).
        max_retries: Extra attempts after a 429 or 5xx answer. Timeouts and refused connections are not
            retried: the query falls back at once rather than stalling the batch.
        backoff_base: First backoff in seconds; doubles each retry, with up to 25% jitter.
        backoff_max: Upper bound on one backoff wait.
        max_retry_wait: A ``Retry-After`` longer than this gives up instead of waiting.
        max_concurrency: Requests in flight at once.
        temperature: Sampling temperature (0 for reproducible rewrites); None leaves it out of the request.
        max_tokens: Cap on the answer length; None leaves it out (for models that only take
            ``max_completion_tokens``, which ``extra_body`` can carry).
        cache_dir: Folder for the answer cache; None disables it.
        extra_body: Extra JSON fields merged into each request (e.g. Ollama ``options``).
        sleep: The wait function used between retries (tests record the waits instead of sleeping).

    Example:
        >>> client = OpenAIChatClient("http://localhost:8000/v1", model="qwen2.5-1.5b-instruct",
        ...                           api_key_env=None, cache_dir=None)
        >>> client.name
        'openai:qwen2.5-1.5b-instruct'
    """

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout: float = 30.0, max_retries: int = 3, backoff_base: float = 0.5,
                 backoff_max: float = 30.0, max_retry_wait: float = 60.0, max_concurrency: int = 4,
                 temperature: float | None = 0.0, max_tokens: int | None = 64,
                 cache_dir: str | os.PathLike | None = None,
                 extra_body: Mapping[str, Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(max_concurrency)
        if not model:
            raise ConfigError("the OpenAI-compatible backend needs a model name (--model or openai.model)")
        # All transport concerns (deadline, retries, Retry-After, concurrency, cache, key, redaction) live in
        # rerank_fix.net, shared with the HTTP rerankers.
        self._client = JsonHttpClient(base_url, api_key_env=api_key_env, timeout=timeout, max_retries=max_retries,
                                      backoff_base=backoff_base, backoff_max=backoff_max,
                                      max_retry_wait=max_retry_wait, max_concurrency=max_concurrency,
                                      cache_dir=None if cache_dir is None else str(cache_dir), sleep=sleep)
        self.base_url = self._client.base_url
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = self._client.timeout
        self.max_retries = self._client.max_retries
        self.temperature = None if temperature is None else float(temperature)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.extra_body = dict(extra_body or {})
        self.cache = self._client.cache
        self.stats = self._client.stats
        self.name = f"openai:{model}"

    @property
    def has_api_key(self) -> bool:
        return self._client.has_api_key

    def _params(self) -> dict[str, Any]:
        # None leaves a setting out: some models (OpenAI's reasoning models) reject temperature / max_tokens.
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        return {**{k: v for k, v in params.items() if v is not None}, **self.extra_body}

    def complete(self, messages: Sequence[Message]) -> str:
        return self.complete_with_info(messages)[0]

    def complete_with_info(self, messages: Sequence[Message]) -> tuple[str, bool]:
        payload = {"model": self.model, "messages": [dict(m) for m in messages], "stream": False, **self._params()}
        # Keyed by endpoint, model, the rendered prompt (template filled in) and the prompt format version.
        key = self._client.cache_key("chat/completions", self.model,
                                     {"request": payload, "prompt_format": PROMPT_FORMAT_VERSION})
        hit = self._client.cache_get(key)
        if isinstance(hit, str):
            return hit, True
        try:
            answer = self._parse(self._client.post_json("chat/completions", payload))
        except HttpError as exc:
            raise ChatClientError(exc.reason, exc.detail) from None
        except ChatClientError:
            self._client._count("failures")
            raise
        self._client.cache_put(key, answer)
        return answer, False

    @staticmethod
    def _parse(data: Any) -> str:
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ChatClientError("malformed_response", "no choices[0].message.content in the answer") from None
        if content is None:
            raise ChatClientError("empty_response", "message content is null")
        if not isinstance(content, str):
            raise ChatClientError("malformed_response", f"message content is a {type(content).__name__}")
        if not content.strip():
            raise ChatClientError("empty_response", "message content is blank")
        return content

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        key_state = "set" if self.has_api_key else "unset"
        return (f"OpenAIChatClient(base_url={self._client.redact(self.base_url)!r}, model={self.model!r}, "
                f"api_key_env={self.api_key_env!r} [{key_state}], timeout={self.timeout:g}, "
                f"max_retries={self.max_retries}, max_concurrency={self.max_concurrency}, "
                f"cache={str(self.cache.root) if self.cache is not None else None!r})")

    __str__ = __repr__
