"""Local llama.cpp backend (optional extra ``rerank-fix[llamacpp]``), given a GGUF file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.cache import DiskCache, cache_key
from rerank_fix.rewrite.clients import ChatClient, ChatClientError
from rerank_fix.rewrite.types import Message

INSTALL_HINT = "pip install rerank-fix[llamacpp]"


class MissingExtraError(ConfigError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def _import_llama() -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise MissingExtraError("the llamacpp backend needs the llama-cpp-python package, which is not "
                                f"installed; install it with `{INSTALL_HINT}` (or pick --backend spell, "
                                "which needs no model)") from None
    return Llama


class LlamaCppClient(ChatClient):
    """Run a GGUF chat model in-process with llama-cpp-python.

    The model is loaded once, at construction. llama.cpp contexts are not thread-safe, so completions run
    one at a time.

    Args:
        gguf: Path to the ``.gguf`` model file.
        n_ctx: Context window in tokens.
        n_threads: CPU threads (None: llama.cpp's default).
        n_gpu_layers: Layers offloaded to a GPU build (0: CPU only, -1: all).
        temperature: Sampling temperature.
        max_tokens: Cap on the answer length.
        chat_format: llama-cpp-python chat format name; None uses the template stored in the GGUF.
        seed: Sampling seed, for reproducible rewrites.
        cache_dir: Folder for the answer cache; None disables it.

    Raises:
        MissingExtraError: llama-cpp-python is not installed (names ``pip install rerank-fix[llamacpp]``).
        ConfigError: the GGUF file does not exist.

    Example:
        >>> client = LlamaCppClient("models/qwen2.5-0.5b-instruct-q4_k_m.gguf")  # doctest: +SKIP
        >>> client.complete([{"role": "user", "content": "Fix: do golddish grow"}])  # doctest: +SKIP
        'do goldfish grow'
    """

    def __init__(self, gguf: str | os.PathLike, n_ctx: int = 2048, n_threads: int | None = None,
                 n_gpu_layers: int = 0, temperature: float = 0.0, max_tokens: int = 64,
                 chat_format: str | None = None, seed: int = 0,
                 cache_dir: str | os.PathLike | None = None) -> None:
        super().__init__(max_concurrency=1)
        llama_cls = _import_llama()
        path = Path(gguf)
        if not path.is_file():
            raise ConfigError(f"GGUF model file {str(path)!r} not found; pass --gguf with the path to a .gguf file")
        self.gguf = path
        self.model = path.name
        self.name = f"llamacpp:{path.name}"
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.seed = int(seed)
        self.cache = DiskCache(cache_dir) if cache_dir is not None else None
        kwargs: dict[str, Any] = {"model_path": str(path), "n_ctx": n_ctx, "n_gpu_layers": n_gpu_layers,
                                  "seed": seed, "verbose": False}
        if n_threads is not None:
            kwargs["n_threads"] = n_threads
        if chat_format is not None:
            kwargs["chat_format"] = chat_format
        try:
            self._llm = llama_cls(**kwargs)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"llama.cpp could not load {str(path)!r}: {exc}") from None

    def complete(self, messages: Sequence[Message]) -> str:
        return self.complete_with_info(messages)[0]

    def complete_with_info(self, messages: Sequence[Message]) -> tuple[str, bool]:
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        key = cache_key(self.model, messages, params) if self.cache is not None else None
        if key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit, True
        try:
            out = self._llm.create_chat_completion(messages=[dict(m) for m in messages],
                                                   temperature=self.temperature, max_tokens=self.max_tokens)
        except Exception as exc:  # noqa: BLE001 - a failed generation falls back to the original query
            raise ChatClientError("llamacpp_error", f"{type(exc).__name__}: {exc}") from exc
        try:
            content = out["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ChatClientError("malformed_response", "no choices[0].message.content") from None
        if not isinstance(content, str) or not content.strip():
            raise ChatClientError("empty_response")
        if key is not None:
            self.cache.put(key, content)
        return content, False

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None and hasattr(llm, "close"):
            llm.close()

    def __repr__(self) -> str:
        return f"LlamaCppClient(gguf={str(self.gguf)!r}, temperature={self.temperature:g})"
