"""The package version, and the versions of what a saved artefact (bundle, export, served model) ran on."""
from __future__ import annotations

import platform
from importlib import metadata

__version__ = "0.1.0"

_PEERS = ("torch", "sentence-transformers", "transformers", "numpy", "bm25s", "symspellpy")


def versions() -> dict[str, str]:
    """``{"rerank_fix": ..., "python": ..., "torch": ..., ...}`` for reports, bundles and ``/info``.

    Example:
        >>> versions()["rerank_fix"] == __version__
        True
    """
    found = {"rerank_fix": __version__, "python": platform.python_version()}
    for name in _PEERS:
        try:
            found[name.replace("-", "_")] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name.replace("-", "_")] = "not installed"
    return found
