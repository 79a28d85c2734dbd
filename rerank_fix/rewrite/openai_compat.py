"""OpenAI-compatible ``/chat/completions`` client over httpx (OpenAI, vLLM, Ollama, llama.cpp server)."""
from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from typing import Any, Callable, Mapping, Sequence

import httpx

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.cache import DiskCache, cache_key
from rerank_fix.rewrite.clients import ChatClient, ChatClientError
from rerank_fix.rewrite.types import Message

logger = logging.getLogger("rerank_fix.rewrite")

#: Statuses worth another try: rate limiting and server-side trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (fractions accepted) or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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
        timeout: Seconds for each of connect / read / write before the request fails with ``timeout``.
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
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url {base_url!r} must start with http:// or https://, "
                              "e.g. http://localhost:8000/v1")
        if not model:
            raise ConfigError("the OpenAI-compatible backend needs a model name (--model or openai.model)")
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_wait = float(max_retry_wait)
        self.temperature = None if temperature is None else float(temperature)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.extra_body = dict(extra_body or {})
        self.cache = DiskCache(cache_dir) if cache_dir is not None else None
        self.name = f"openai:{model}"
        self._sleep = sleep
        self._api_key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and not self._api_key:
            logger.warning("environment variable %s is not set; sending requests without an API key "
                           "(fine for local vLLM / Ollama / llama.cpp servers)", api_key_env)
        self._gate = threading.BoundedSemaphore(max_concurrency)
        self._stats_lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0, "failures": 0}
        self._warned: set[int] = set()
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            headers=headers,
        )

    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    def _params(self) -> dict[str, Any]:
        # None leaves a setting out: some models (OpenAI's reasoning models) reject temperature / max_tokens.
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        return {**{k: v for k, v in params.items() if v is not None}, **self.extra_body}

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def complete(self, messages: Sequence[Message]) -> str:
        return self.complete_with_info(messages)[0]

    def complete_with_info(self, messages: Sequence[Message]) -> tuple[str, bool]:
        key = cache_key(self.model, messages, self._params()) if self.cache is not None else None
        if key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self._count("cache_hits")
                return hit, True
        with self._gate:
            try:
                answer = self._request(messages)
            except ChatClientError:
                self._count("failures")
                raise
        if key is not None:
            self.cache.put(key, answer)
        return answer, False

    def _backoff(self, attempt: int) -> float:
        delay = self.backoff_base * (2 ** attempt)
        return min(self.backoff_max, delay * (1.0 + 0.25 * random.random()))

    def _request(self, messages: Sequence[Message]) -> str:
        payload = {"model": self.model, "messages": [dict(m) for m in messages], "stream": False,
                   **self._params()}
        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.max_retries + 1):
            self._count("requests")
            try:
                response = self._http.post(url, json=payload)
            except httpx.TimeoutException as exc:
                raise ChatClientError("timeout", f"no answer from {url} within {self.timeout:g}s "
                                      f"({type(exc).__name__})") from None
            except httpx.ConnectError:
                raise ChatClientError("connection_error", f"cannot connect to {url}") from None
            except httpx.HTTPError as exc:
                raise ChatClientError("transport_error", f"{type(exc).__name__} talking to {url}") from None
            status = response.status_code
            if status in RETRY_STATUSES and attempt < self.max_retries:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_wait:
                    raise ChatClientError(f"http_{status}", f"server asked to wait {retry_after:.0f}s "
                                          f"(> max_retry_wait {self.max_retry_wait:g}s)")
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                logger.info("%s answered HTTP %d; retry %d/%d in %.2fs%s", url, status, attempt + 1,
                            self.max_retries, delay, " (Retry-After)" if retry_after is not None else "")
                self._count("retries")
                self._sleep(delay)
                continue
            if status >= 400:
                self._warn_once(status, url, response)
                raise ChatClientError(f"http_{status}", f"{url} answered HTTP {status}")
            return self._parse(response)
        raise AssertionError("unreachable: the last attempt either returns or raises")

    def _warn_once(self, status: int, url: str, response: httpx.Response) -> None:
        # A wrong key, model name or parameter fails every query the same way: say why once, not per query.
        if status in RETRY_STATUSES:
            return
        with self._stats_lock:
            if status in self._warned:
                return
            self._warned.add(status)
        if status in (401, 403):
            logger.warning("%s answered HTTP %d: check the API key in $%s", url, status,
                           self.api_key_env or "(none configured)")
        else:
            logger.warning("%s answered HTTP %d (queries keep their original text): %s", url, status,
                           response.text[:300].strip())

    @staticmethod
    def _parse(response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            raise ChatClientError("malformed_response", "the body is not JSON") from None
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
        self._http.close()

    def __repr__(self) -> str:
        key_state = "set" if self._api_key else "unset"
        return (f"OpenAIChatClient(base_url={self.base_url!r}, model={self.model!r}, "
                f"api_key_env={self.api_key_env!r} [{key_state}], timeout={self.timeout:g}, "
                f"max_retries={self.max_retries}, max_concurrency={self.max_concurrency}, "
                f"cache={str(self.cache.root) if self.cache is not None else None!r})")

    __str__ = __repr__

