"""An on-disk embedding cache keyed by model and text hash, so a second run does not re-encode."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


def default_cache_dir() -> Path:
    return Path(os.environ.get("RERANK_FIX_CACHE", Path.home() / ".cache" / "rerank_fix")) / "embeddings"


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class EmbeddingCache:
    """Embeddings stored in append-only shards under ``<root>/<model key>/``.

    Each shard is a pair ``NNNNN.npy`` (vectors) + ``NNNNN.keys`` (one text hash a line), written
    atomically, so an interrupted run never leaves a corrupt cache behind. Shards are opened memory-mapped:
    a corpus encoded in one go comes back as the mapped file itself, not a copy in memory.

    Args:
        root: Cache folder.
        model_key: Identifies the model and encoding settings; different keys never share vectors.
        dtype: ``float32`` or ``float16`` on disk (fp16 halves the files; a separate folder, never mixed).
    """

    def __init__(self, root: str | Path, model_key: str, dtype: str = "float32") -> None:
        if dtype not in ("float32", "float16"):
            raise ValueError(f"cache dtype must be float32 or float16, not {dtype!r}")
        self.dtype = np.dtype(dtype)
        safe = hashlib.sha1((model_key + ("|float16" if dtype == "float16" else "")).encode()).hexdigest()[:16]
        self.folder = Path(root) / safe
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "model.json"
        if not meta.exists():
            meta.write_text(json.dumps({"model_key": model_key}))
        self._index: dict[str, tuple[int, int]] = {}
        self._shards: dict[int, np.ndarray] = {}
        for keys_file in sorted(self.folder.glob("*.keys")):
            shard = int(keys_file.stem)
            for row, key in enumerate(keys_file.read_text().split()):
                self._index[key] = (shard, row)

    def __len__(self) -> int:
        return len(self._index)

    def _shard(self, shard: int) -> np.ndarray:
        if shard not in self._shards:
            self._shards[shard] = np.load(self.folder / f"{shard:05d}.npy", mmap_mode="r")
        return self._shards[shard]

    def get_or_encode(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` in order, encoding only the misses. Returns (vectors, number encoded)."""
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._index and key not in missing:
                missing[key] = text
        if missing:
            vectors = np.asarray(encode(list(missing.values())), dtype=np.float32)
            self._append(list(missing), vectors)
        if not keys:
            return np.zeros((0, 0), np.float32), len(missing)
        whole = self._whole_shard(keys)
        if whole is not None and whole.dtype == np.float32:
            return whole, len(missing)  # the mapped file: pages are read on demand, nothing is copied
        out = np.stack([self._shard(s)[r] for s, r in (self._index[k] for k in keys)])
        return np.asarray(out, dtype=np.float32), len(missing)

    def _whole_shard(self, keys: list[str]) -> np.ndarray | None:
        """The shard that holds exactly ``keys`` in this order, if one does."""
        shard, first = self._index[keys[0]]
        if first != 0:
            return None
        vectors = self._shard(shard)
        if len(vectors) != len(keys):
            return None
        for row, key in enumerate(keys):
            if self._index[key] != (shard, row):
                return None
        return vectors

    def _append(self, keys: list[str], vectors: np.ndarray) -> None:
        shard = max((s for s, _ in self._index.values()), default=-1) + 1
        vec_path = self.folder / f"{shard:05d}.npy"
        tmp_vec = self.folder / f"{shard:05d}.tmp.npy"
        np.save(tmp_vec, np.asarray(vectors, dtype=self.dtype))
        tmp_vec.replace(vec_path)
        keys_tmp = self.folder / f"{shard:05d}.keys.tmp"
        keys_tmp.write_text("\n".join(keys) + "\n")
        # The keys file is written last: a shard without one is invisible, never half-read.
        keys_tmp.replace(self.folder / f"{shard:05d}.keys")
        for row, key in enumerate(keys):
            self._index[key] = (shard, row)
