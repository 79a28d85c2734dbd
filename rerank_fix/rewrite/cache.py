"""A tiny on-disk cache of model answers, keyed by model + prompt + generation settings."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from rerank_fix.net.cache import JsonDiskCache
from rerank_fix.rewrite.types import Message

logger = logging.getLogger("rerank_fix.rewrite")


def cache_key(model: str, messages: Sequence[Message], params: Mapping[str, Any] | None = None) -> str:
    """A stable sha256 over the model name, the messages and the settings that change the answer."""
    payload = {
        "model": model,
        "messages": [{"role": str(m.get("role", "")), "content": str(m.get("content", ""))} for m in messages],
        "params": dict(params or {}),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


#: Bump when the prompt template or the way answers are post-processed changes: older answers are then not reused.
PROMPT_VERSION = 2


def scoped_cache_dir(cache_dir: str | os.PathLike | None, **scope: Any) -> Path | None:
    """The cache folder for one endpoint, model and prompt: ``cache_dir/<sha of scope>``.

    The per-answer key already covers the model name, the filled messages and the generation settings; the scope
    adds what it cannot see, such as the server (``base_url``) and :data:`PROMPT_VERSION`, so one server's answers
    are never reused for another.

    Example:
        >>> a = scoped_cache_dir("c", base_url="http://a/v1", model="m")
        >>> a != scoped_cache_dir("c", base_url="http://b/v1", model="m")
        True
    """
    if cache_dir is None:
        return None
    payload = json.dumps({"prompt_version": PROMPT_VERSION, **scope}, sort_keys=True, default=str)
    return Path(cache_dir) / ("scope-" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16])


class DiskCache(JsonDiskCache):
    """One small JSON file per answer under ``root/<2 hex>/<key>.json`` (``{"content": answer}``).

    Files are written atomically (temp file + rename), so concurrent writers and interrupted runs never
    leave a half-written entry; an unreadable entry is treated as a miss.

    Args:
        root: Folder for the cache; created on first write.

    Example:
        >>> import tempfile
        >>> cache = DiskCache(tempfile.mkdtemp())
        >>> key = cache_key("m", [{"role": "user", "content": "hi"}])
        >>> cache.put(key, "hello"); cache.get(key)
        'hello'
    """

    field = "content"
    log = logger

    def accept(self, value: Any) -> bool:
        return isinstance(value, str)
