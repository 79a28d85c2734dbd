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

    An entry is ``{field: value}``; an unreadable entry is a miss, and a failed write only a warning (a
    read-only or full disk must not turn a good answer into a failure). Subclasses change ``field`` and
    what :meth:`accept` lets through (the rewrite cache keeps strings only).

    Args:
        root: Folder for the cache; created on first write.

    Example:
        >>> import tempfile
        >>> cache = JsonDiskCache(tempfile.mkdtemp())
        >>> cache.put("ab12", [0.5, 0.25]); cache.get("ab12")
        [0.5, 0.25]
    """

    field = "value"
    log = logger

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def accept(self, value: Any) -> bool:
        """Whether a stored value is usable (anything, here)."""
        return True

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            with path.open("r", encoding="utf-8") as handle:
                value = json.load(handle).get(self.field)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            self.log.warning("ignoring unreadable cache entry %s", path)
            return None
        return value if self.accept(value) else None

    def put(self, key: str, value: Any) -> None:
        try:
            write_json(self._path(key), {self.field: value}, indent=None)  # callers cache only finite scores
        except OSError as exc:
            self.log.warning("could not write cache entry under %s: %s", self.root, exc)

    def count(self) -> int:
        """Number of stored answers."""
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.is_dir() else 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"
