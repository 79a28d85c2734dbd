"""The pluggable chat client: messages in, text out.

Shaped like AnswerDotAI ``rerankers``' ``BaseRanker``: one small abstract base, one uniform result type
(:class:`~rerank_fix.rewrite.types.BackendOutput`), and backends whose heavy dependencies are optional
extras imported only when used. Backends here: :class:`CallableClient` (any Python function),
:class:`~rerank_fix.rewrite.openai_compat.OpenAIChatClient` (OpenAI, vLLM, Ollama, llama.cpp's server)
and :class:`~rerank_fix.rewrite.llamacpp.LlamaCppClient` (a local GGUF file).
"""
from __future__ import annotations

import importlib
import logging
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.types import BackendOutput, Message

logger = logging.getLogger("rerank_fix.rewrite")


class ChatClientError(Exception):
    """A failed completion. ``reason`` is a short machine-readable tag that becomes ``fallback:<reason>``.

    Args:
        reason: e.g. ``timeout``, ``connection_error``, ``http_500``, ``malformed_response``, ``empty_response``.
        detail: Human-readable detail for logs (never contains credentials).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ChatClient(ABC):
    """Minimal chat backend: a list of messages in, the assistant's text out.

    Subclasses implement :meth:`complete`, raising :class:`ChatClientError` on failure. :meth:`complete_many`
    turns every failure into a :class:`BackendOutput` with ``error`` set, so callers never lose an item.

    Args:
        max_concurrency: How many completions :meth:`complete_many` runs at once (threads).

    Example:
        >>> class Echo(ChatClient):
        ...     name = "echo"
        ...     def complete(self, messages):
        ...         return messages[-1]["content"]
        >>> [o.text for o in Echo().complete_many([[{"role": "user", "content": "hi"}]])]
        ['hi']
    """

    name: str = "chat"

    def __init__(self, max_concurrency: int = 1) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency

    @abstractmethod
    def complete(self, messages: Sequence[Message]) -> str:
        """Return the assistant's answer, or raise :class:`ChatClientError`."""

    def complete_with_info(self, messages: Sequence[Message]) -> tuple[str, bool]:
        """``(answer, served_from_cache)``; clients with a cache override this."""
        return self.complete(messages), False

    def _one(self, messages: Sequence[Message]) -> BackendOutput:
        start = time.perf_counter()
        try:
            text, cached = self.complete_with_info(messages)
        except ChatClientError as exc:
            elapsed = (time.perf_counter() - start) * 1000
            logger.debug("%s: completion failed (%s)", self.name, exc)
            return BackendOutput(None, exc.reason, elapsed)
        return BackendOutput(text, None, (time.perf_counter() - start) * 1000, cached)

    def complete_many(self, batch: Sequence[Sequence[Message]],
                      progress: Callable[[], None] | None = None) -> list[BackendOutput]:
        """One :class:`BackendOutput` per conversation, in input order; failures are outputs, not exceptions.

        Args:
            batch: Conversations to complete.
            progress: Called once per finished item (e.g. a tqdm ``update``).
        """

        def run(messages: Sequence[Message]) -> BackendOutput:
            out = self._one(messages)
            if progress is not None:
                progress()
            return out

        if self.max_concurrency == 1 or len(batch) <= 1:
            return [run(m) for m in batch]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(batch)),
                                thread_name_prefix="rerank-fix-rewrite") as pool:
            return list(pool.map(run, batch))

    def close(self) -> None:
        """Release connections or model memory; the base holds none."""

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CallableClient(ChatClient):
    """Wrap a plain Python function ``fn(messages) -> str`` as a chat backend.

    Anything the function raises becomes ``fallback:callable_error``; a non-string answer becomes
    ``fallback:malformed_response`` and a blank one ``fallback:empty_response``.

    Args:
        fn: Called with the list of chat messages (dicts with ``role`` and ``content``).
        name: Display name in summaries; defaults to the function's qualified name.
        max_concurrency: Run this many calls at once (only for thread-safe functions).

    Example:
        >>> client = CallableClient(lambda messages: messages[-1]["content"].upper())
        >>> client.complete([{"role": "user", "content": "do goldfish grow"}])
        'DO GOLDFISH GROW'
    """

    def __init__(self, fn: Callable[[list[dict[str, str]]], str], name: str | None = None,
                 max_concurrency: int = 1) -> None:
        super().__init__(max_concurrency)
        if not callable(fn):
            raise ConfigError(f"CallableClient needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or f"callable:{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"

    def complete(self, messages: Sequence[Message]) -> str:
        # Copies, so a function that edits its argument cannot change the caller's prompt.
        payload = [dict(m) for m in messages]
        try:
            answer = self.fn(payload)
        except Exception as exc:  # noqa: BLE001 - any failure of user code falls back to the original query
            raise ChatClientError("callable_error", f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, str):
            raise ChatClientError("malformed_response", f"expected str, got {type(answer).__name__}")
        if not answer.strip():
            raise ChatClientError("empty_response")
        return answer

    def __repr__(self) -> str:
        return f"CallableClient({self.name!r})"


def load_callable(spec: str) -> Callable:
    """Import ``"package.module:function"`` (attributes may be dotted: ``module:Class.method``).

    Raises:
        ConfigError: naming the spec and what went wrong.
    """
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise ConfigError(f"callable {spec!r} must look like 'package.module:function'")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"callable {spec!r}: cannot import module {module_name!r} ({exc}); "
                          "is it installed or on PYTHONPATH?") from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"callable {spec!r}: module {module_name!r} has no attribute {attr_path!r}") from None
    if not callable(obj):
        raise ConfigError(f"callable {spec!r} resolves to a {type(obj).__name__}, which is not callable")
    return obj
