"""Hugging Face ``datasets`` sources in BEIR form.

A hub id such as ``BeIR/scifact`` has ``corpus`` and ``queries`` configs and its judgements in the
companion ``BeIR/scifact-qrels`` dataset. A local ``DatasetDict`` saved with ``save_to_disk`` holding
``corpus``, ``queries`` and ``qrels`` (or ``<split>``-named qrels) works the same way offline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from rerank_fix.data.beir import assemble, check_references
from rerank_fix.core.ids import check_id
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.data.jsonl import parse_grade, text_field
from rerank_fix.errors import DataError, quote


def _row_id(row: dict[str, Any], keys: tuple[str, ...], kind: str, where: str) -> str:
    value = next((row[k] for k in keys if row.get(k) is not None), None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{where}: no '{keys[0]}' — every row needs a {kind} id")
    if not isinstance(value, str):
        raise DataError(f"{where}: the {kind} id must be a string, got {type(value).__name__} — fix that column")
    return check_id(value, kind, where, None)


def _corpus_from_rows(rows: Iterable[dict[str, Any]], source: str) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for index, row in enumerate(rows):
        where = f"{source}: corpus row {index}"
        doc_id = _row_id(row, ("_id", "id"), "document", where)
        if doc_id in corpus:
            raise DataError(f"{where}: duplicate document id {quote(doc_id)} — document ids must be unique")
        title = text_field(row, "title", where, None) or ""
        text = text_field(row, "text", where, None, default=None)
        if text is None:
            raise DataError(f"{where}: document {quote(doc_id)} has no 'text' — fill in the text column")
        corpus[doc_id] = Document(doc_id, title, text)
    return corpus


def _queries_from_rows(rows: Iterable[dict[str, Any]], source: str) -> dict[str, Query]:
    queries: dict[str, Query] = {}
    for index, row in enumerate(rows):
        where = f"{source}: queries row {index}"
        query_id = _row_id(row, ("_id", "id"), "query", where)
        text = text_field(row, "text", where, None) or ""
        if not text.strip():
            raise DataError(f"{where}: query {quote(query_id)} has empty text — fill it in or remove the row")
        if query_id in queries:
            raise DataError(f"{where}: duplicate query id {quote(query_id)} — query ids must be unique")
        metadata = {k: v for k, v in row.items() if k not in {"_id", "id", "text", "title"}}
        queries[query_id] = Query(query_id, text, metadata)
    return queries


def _qrels_from_rows(rows: Iterable[dict[str, Any]], source: str = "qrels") -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for index, row in enumerate(rows):
        where = f"{source}: qrels row {index}"
        query_id = _row_id(row, ("query-id", "query_id"), "query", where)
        doc_id = _row_id(row, ("corpus-id", "corpus_id"), "document", where)
        score = row.get("score", 1)
        grade = parse_grade("nan" if score is None else str(score), where, None)
        judged = qrels.setdefault(query_id, {})
        judged[doc_id] = max(grade, judged.get(doc_id, grade))
    return qrels


def from_rows(name: str, corpus_rows, query_rows, qrel_rows, source: str) -> EvalSet:
    corpus = _corpus_from_rows(corpus_rows, source)
    queries = _queries_from_rows(query_rows, source)
    qrels = _qrels_from_rows(qrel_rows, source)
    if not qrels:
        raise DataError(f"{source}: no judgements found — the qrels part has no rows")
    check_references(qrels, queries, corpus, source)
    return assemble(name, corpus, queries, qrels, source)


def load_hf(source: str, split: str = "test") -> EvalSet:
    """Load from a local ``save_to_disk`` folder or a hub id (needs internet the first time)."""
    import datasets

    local = Path(source)
    if local.is_dir():
        try:
            bundle = datasets.load_from_disk(str(local))
        except Exception as exc:  # datasets raises many types for a damaged folder; the user needs one line
            raise DataError(f"{source}: the saved dataset cannot be read ({type(exc).__name__}: "
                            f"{str(exc)[:200]}) — it is truncated or corrupt; save it again with save_to_disk"
                            ) from None
        if not hasattr(bundle, "keys"):
            raise DataError(f"{source}: a saved dataset needs 'corpus' and 'queries' parts (a DatasetDict), found "
                            "a single Dataset — save a DatasetDict")
        required = {"corpus", "queries"}
        if not required <= set(bundle.keys()):
            raise DataError(f"{source}: a saved dataset needs 'corpus' and 'queries' parts, found {sorted(bundle.keys())}")
        qrels_key = split if split in bundle else "qrels"
        if qrels_key not in bundle:
            raise DataError(f"{source}: no qrels for split {split!r}; parts present: {sorted(bundle.keys())}")
        try:
            return from_rows(f"{local.name}/{split}", bundle["corpus"], bundle["queries"], bundle[qrels_key], source)
        except DataError:
            raise
        except Exception as exc:  # a truncated arrow file fails only when its rows are read
            raise DataError(f"{source}: the saved dataset cannot be read ({type(exc).__name__}: "
                            f"{str(exc)[:200]}) — it is truncated or corrupt; save it again with save_to_disk"
                            ) from None
    hub_id = source.removeprefix("hf:")
    try:
        corpus = datasets.load_dataset(hub_id, "corpus", split="corpus")
        queries = datasets.load_dataset(hub_id, "queries", split="queries")
        qrels = datasets.load_dataset(f"{hub_id}-qrels", split=split)
    except Exception as exc:  # the hub raises many types; the user needs the one-line reason
        raise DataError(f"could not load {hub_id!r} from the Hugging Face hub ({type(exc).__name__}: {exc}). "
                        "Check the id and your connection, or pass a local BEIR folder") from None
    return from_rows(f"{hub_id}/{split}", corpus, queries, qrels, hub_id)
