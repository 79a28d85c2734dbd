"""Data layer: load an evaluation set from a BEIR folder, a pairs file, or a Hugging Face dataset."""
from __future__ import annotations

from pathlib import Path

from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.errors import DataError

DEMO_PATH = Path(__file__).parent / "demo"

__all__ = ["DEMO_PATH", "Document", "EvalSet", "Query", "load_eval_set"]


def load_eval_set(source: str | Path, split: str = "test", queries_file: str | None = None,
                  corpus: str | Path | None = None) -> EvalSet:
    """Load an evaluation set, whatever its form.

    Args:
        source: ``"demo"`` (bundled), a BEIR folder, a ``.jsonl``/``.csv`` pairs file, a folder saved with
            ``datasets.save_to_disk``, or a hub id (``hf:BeIR/scifact`` or ``BeIR/scifact``).
        split: Which qrels to use (``qrels/<split>.tsv`` in BEIR folders).
        queries_file: Another queries file in the folder, e.g. ``queries.typo1.jsonl``.
        corpus: The corpus for a pairs file, when it is not ``corpus.jsonl`` beside it.

    Example:
        >>> ds = load_eval_set("demo", split="test")
        >>> ds.name
        'demo/test'
    """
    if str(source) == "demo":
        from rerank_fix.data.beir import load_beir_folder

        return load_beir_folder(DEMO_PATH, split, queries_file, name=f"demo/{split}")
    path = Path(source)
    if path.is_symlink() and not path.exists():
        from rerank_fix.core.textfile import check_input_file

        check_input_file(path, "data source")
    if path.is_dir() and ((path / "corpus.jsonl").exists() or (path / "corpus.jsonl").is_symlink()):
        from rerank_fix.data.beir import load_beir_folder

        return load_beir_folder(path, split, queries_file)
    if path.is_dir() and (path / "dataset_dict.json").is_file():
        from rerank_fix.data.hf import load_hf

        return load_hf(str(path), split)
    if path.is_file() and path.suffix.lower() in {".jsonl", ".csv"}:
        from rerank_fix.data.pairs import load_pairs

        return load_pairs(path, corpus)
    if path.exists():
        raise DataError(f"{source}: not a recognised data source; expected a BEIR folder with corpus.jsonl, "
                        "a .jsonl/.csv pairs file, or a saved Hugging Face dataset")
    text = str(source)
    if text.startswith("hf:") or (text.count("/") == 1 and not text.startswith((".", "/"))):
        from rerank_fix.data.hf import load_hf

        return load_hf(text, split)
    raise DataError(f"{source}: no such file or folder — check the path, or use --data demo for the bundled set")
