"""JSON over HTTP with a whole-request deadline, bounded retries, a concurrency limit and a disk cache.

Why asyncio underneath a blocking API: httpx's timeouts are per socket operation, so a server that drips
one byte every half second never trips a 3 s read timeout and can hold a request for minutes. Each attempt
here runs as a task on one shared background event loop inside ``asyncio.timeout(deadline)``: connect, send,
wait and read together must finish in time, or the task is cancelled and its connection closed.
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import threading
import time
from typing import Any, Callable

import httpx

from rerank_fix.errors import ConfigError
from rerank_fix.net.cache import JsonDiskCache, request_key
from rerank_fix.net.secrets import read_api_key, redact

logger = logging.getLogger("rerank_fix.net")

#: Statuses worth another try: rate limiting and server-side trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (fractions accepted) or an HTTP date.

    Example:
        >>> parse_retry_after("2"), parse_retry_after("soon")
        (2.0, None)
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is not a wait
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpError(Exception):
    """A failed call. ``reason`` is a short tag (``timeout``, ``connection_error``, ``http_429``,
    ``malformed_response`` ...); ``detail`` is redacted text for people."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status


class _Loop:
    """One event loop on a daemon thread, shared by every client in the process."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="rerank-fix-http", daemon=True).start()
                cls._loop = loop
            return cls._loop


class JsonHttpClient:
    """POST JSON, get JSON back, safely.

    Args:
        base_url: Server root, e.g. ``https://api.cohere.com`` or ``http://127.0.0.1:8080``.
        api_key_env: NAME of the environment variable holding the key (refused if it looks like a key);
            None or unset sends no key.
        auth_header / auth_prefix: Where the key goes (``Authorization: Bearer <key>`` by default;
            ``x-api-key`` with an empty prefix for some vendors).
        timeout: Whole-request deadline in seconds per attempt: connect, send, wait and read together.
        max_retries: Extra attempts after a 429 or 5xx answer (timeouts and refused connections are not
            retried: the caller falls back at once instead of stalling a batch).
        backoff_base / backoff_max: Exponential backoff (with up to 25% jitter) when no Retry-After is given.
        max_retry_wait: A ``Retry-After`` longer than this gives up instead of waiting.
        max_concurrency: Requests in flight at once, across threads.
        cache_dir: Folder of the answer cache (None: no cache).
        max_response_bytes: Larger answers are refused (``response_too_large``) rather than read.
        sleep: The wait between retries (tests record waits instead of sleeping).

    Example:
        >>> client = JsonHttpClient("http://127.0.0.1:8080", timeout=5)
        >>> client.stats["requests"]
        0
        >>> client.close()
    """

    def __init__(self, base_url: str, api_key_env: str | None = None, auth_header: str = "Authorization",
                 auth_prefix: str = "Bearer ", timeout: float = 30.0, max_retries: int = 3,
                 backoff_base: float = 0.5, backoff_max: float = 30.0, max_retry_wait: float = 60.0,
                 max_concurrency: int = 4, cache_dir: str | None = None, max_response_bytes: int = 64 << 20,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise ConfigError(f"base_url {redact(base_url)!r} must start with http:// or https://, "
                              "e.g. http://localhost:8000/v1")
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, got {max_retries}")
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.base_url = str(base_url).rstrip("/")
        self.api_key_env = api_key_env
        self._api_key = read_api_key(api_key_env)
        if api_key_env and not self._api_key:
            logger.warning("environment variable %s is not set; sending requests without an API key "
                           "(fine for local servers)", api_key_env)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_wait = float(max_retry_wait)
        self.max_concurrency = int(max_concurrency)
        self.max_response_bytes = int(max_response_bytes)
        self.cache = JsonDiskCache(cache_dir) if cache_dir is not None else None
        self._sleep = sleep
        self._gate = threading.BoundedSemaphore(self.max_concurrency)
        self._stats_lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0, "failures": 0}
        self._warned: set[int] = set()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers[auth_header] = f"{auth_prefix}{self._api_key}"
        self._loop = _Loop.get()
        # Per-operation limits stay as a backstop; the whole-request deadline is enforced around them.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=self.max_concurrency,
                                max_keepalive_connections=self.max_concurrency),
            headers=headers, follow_redirects=False)

    # ------------------------------------------------------------------ secrets
    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    def redact(self, text: object) -> str:
        """``text`` without this client's key, or anything shaped like a credential."""
        return redact(text, (self._api_key,))

    # ------------------------------------------------------------------ cache
    def cache_key(self, path: str, model: str | None, payload: Any) -> str | None:
        """The cache key of an input (None without a cache). Never includes credentials."""
        return request_key(self.url(path), model, payload) if self.cache is not None else None

    def cache_get(self, key: str | None) -> Any | None:
        if key is None or self.cache is None:
            return None
        value = self.cache.get(key)
        if value is not None:
            self._count("cache_hits")
        return value

    def cache_put(self, key: str | None, value: Any) -> None:
        if key is not None and self.cache is not None:
            self.cache.put(key, value)

    # ------------------------------------------------------------------ requests
    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    def _backoff(self, attempt: int) -> float:
        delay = self.backoff_base * (2 ** attempt)
        return min(self.backoff_max, delay * (1.0 + 0.25 * random.random()))

    async def _attempt(self, url: str, payload: Any) -> tuple[int, httpx.Headers, bytes]:
        async with asyncio.timeout(self.timeout):
            async with self._http.stream("POST", url, json=payload) as response:
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise HttpError("response_too_large",
                                        f"{self.redact(url)} sent more than {self.max_response_bytes} bytes")
                    chunks.append(chunk)
                return response.status_code, response.headers, b"".join(chunks)

    def _send(self, url: str, payload: Any) -> tuple[int, httpx.Headers, bytes]:
        future = asyncio.run_coroutine_threadsafe(self._attempt(url, payload), self._loop)
        try:
            # The coroutine enforces the deadline; the margin only guards against a stuck loop.
            return future.result(timeout=self.timeout + 5.0)
        except (TimeoutError, asyncio.TimeoutError):
            future.cancel()
            raise HttpError("timeout", f"no complete answer from {self.redact(url)} within {self.timeout:g}s "
                                       "(whole-request deadline)") from None
        except httpx.ConnectError:
            raise HttpError("connection_error", f"cannot connect to {self.redact(url)}") from None
        except httpx.TimeoutException as exc:
            raise HttpError("timeout", f"no answer from {self.redact(url)} within {self.timeout:g}s "
                                       f"({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise HttpError("transport_error", f"{type(exc).__name__} talking to {self.redact(url)}") from None

    def post_json(self, path: str, payload: Any) -> Any:
        """POST ``payload`` to ``base_url/path`` and return the parsed JSON answer.

        Raises:
            HttpError: ``timeout``, ``connection_error``, ``transport_error``, ``http_<status>``,
                ``malformed_response`` or ``response_too_large``; details are redacted.
        """
        url = self.url(path)
        with self._gate:
            try:
                return self._post(url, payload)
            except HttpError:
                self._count("failures")
                raise

    def _post(self, url: str, payload: Any) -> Any:
        shown = self.redact(url)
        for attempt in range(self.max_retries + 1):
            self._count("requests")
            status, headers, body = self._send(url, payload)
            if status in RETRY_STATUSES and attempt < self.max_retries:
                retry_after = parse_retry_after(headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_wait:
                    raise HttpError(f"http_{status}", f"{shown} asked to wait {retry_after:.0f}s "
                                    f"(> max_retry_wait {self.max_retry_wait:g}s)", status)
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                logger.info("%s answered HTTP %d; retry %d/%d in %.2fs%s", shown, status, attempt + 1,
                            self.max_retries, delay, " (Retry-After)" if retry_after is not None else "")
                self._count("retries")
                self._sleep(delay)
                continue
            if status >= 400:
                self._warn_once(status, shown, body)
                raise HttpError(f"http_{status}", f"{shown} answered HTTP {status}", status)
            try:
                return json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise HttpError("malformed_response", f"the answer of {shown} is not JSON") from None
        raise AssertionError("unreachable: the last attempt either returns or raises")

    def _warn_once(self, status: int, url: str, body: bytes) -> None:
        # A wrong key, model name or parameter fails every call the same way: say why once, not per call.
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
            text = body[:300].decode("utf-8", errors="replace").strip()
            # The body may echo our request, headers included: never log it unredacted.
            logger.warning("%s answered HTTP %d: %s", url, status, self.redact(text))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._http.aclose(), self._loop).result(timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    def __repr__(self) -> str:
        key_state = "set" if self._api_key else "unset"
        return (f"JsonHttpClient(base_url={self.redact(self.base_url)!r}, api_key_env={self.api_key_env!r} "
                f"[{key_state}], timeout={self.timeout:g}, max_retries={self.max_retries}, "
                f"max_concurrency={self.max_concurrency})")

    __str__ = __repr__
