"""A tiny on-disk cache of JSON answers from remote services, keyed by endpoint, model and input."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from rerank_fix.core.jsonio import write_json

logger = logging.getLogger("rerank_fix.net")

#: Bumped when what a cached value means changes, so old entries are never misread.
CACHE_FORMAT = 2


def request_key(endpoint: str, model: str | None, payload: Any) -> str:
    """sha256 over the endpoint URL, the model and the JSON-able input (never the credentials).

    Example:
        >>> request_key("http://a/rerank", "m", {"q": 1}) == request_key("http://b/rerank", "m", {"q": 1})
        False
    """
    blob = json.dumps({"format": CACHE_FORMAT, "endpoint": endpoint, "model": model, "input": payload},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JsonDiskCache:
    """One small JSON file per answer under ``root/<2 hex>/<key>.json``, written atomically.

    Args:
        root: Folder for the cache; created on first write.

    Example:
        >>> import tempfile
        >>> cache = JsonDiskCache(tempfile.mkdtemp())
        >>> cache.put("ab12", [0.5, 0.25]); cache.get("ab12")
        [0.5, 0.25]
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            with path.open("r", encoding="utf-8") as handle:
                return json.load(handle).get("value")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            logger.warning("ignoring unreadable cache entry %s", path)
            return None

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        try:
            write_json(path, {"value": value}, indent=None)  # callers cache only finite scores
        except OSError as exc:
            # A read-only or full disk must not turn a good answer into a failure.
            logger.warning("could not write cache entry under %s: %s", self.root, exc)

    def count(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.is_dir() else 0

    def __repr__(self) -> str:
        return f"JsonDiskCache({str(self.root)!r})"
