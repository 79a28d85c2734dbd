"""Hugging Face ``datasets`` sources in BEIR form.

A hub id such as ``BeIR/scifact`` has ``corpus`` and ``queries`` configs and its judgements in the
companion ``BeIR/scifact-qrels`` dataset. A local ``DatasetDict`` saved with ``save_to_disk`` holding
``corpus``, ``queries`` and ``qrels`` (or ``<split>``-named qrels) works the same way offline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from rerank_fix.data.beir import assemble, check_references
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.errors import DataError


def _corpus_from_rows(rows: Iterable[dict[str, Any]], source: str) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for index, row in enumerate(rows):
        doc_id = str(row.get("_id", row.get("id", "")))
        if not doc_id:
            raise DataError(f"{source}: corpus row {index} has no '_id'")
        if doc_id in corpus:
            raise DataError(f"{source}: corpus row {index}: duplicate document id {doc_id!r}")
        corpus[doc_id] = Document(doc_id, str(row.get("title") or ""), str(row.get("text") or ""))
    return corpus


def _queries_from_rows(rows: Iterable[dict[str, Any]], source: str) -> dict[str, Query]:
    queries: dict[str, Query] = {}
    for index, row in enumerate(rows):
        query_id = str(row.get("_id", row.get("id", "")))
        text = str(row.get("text") or "")
        if not query_id:
            raise DataError(f"{source}: queries row {index} has no '_id'")
        if not text.strip():
            raise DataError(f"{source}: queries row {index}: query {query_id!r} has empty text")
        if query_id in queries:
            raise DataError(f"{source}: queries row {index}: duplicate query id {query_id!r}")
        metadata = {k: v for k, v in row.items() if k not in {"_id", "id", "text", "title"}}
        queries[query_id] = Query(query_id, text, metadata)
    return queries


def _qrels_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for row in rows:
        query_id = str(row.get("query-id", row.get("query_id")))
        doc_id = str(row.get("corpus-id", row.get("corpus_id")))
        judged = qrels.setdefault(query_id, {})
        judged[doc_id] = max(int(row.get("score", 1)), judged.get(doc_id, 0))
    return qrels


def from_rows(name: str, corpus_rows, query_rows, qrel_rows, source: str) -> EvalSet:
    corpus = _corpus_from_rows(corpus_rows, source)
    queries = _queries_from_rows(query_rows, source)
    qrels = _qrels_from_rows(qrel_rows)
    if not qrels:
        raise DataError(f"{source}: no judgements found")
    check_references(qrels, queries, corpus, source)
    return assemble(name, corpus, queries, qrels, source)


def load_hf(source: str, split: str = "test") -> EvalSet:
    """Load from a local ``save_to_disk`` folder or a hub id (needs internet the first time)."""
    import datasets

    local = Path(source)
    if local.is_dir():
        bundle = datasets.load_from_disk(str(local))
        required = {"corpus", "queries"}
        if not required <= set(bundle.keys()):
            raise DataError(f"{source}: a saved dataset needs 'corpus' and 'queries' parts, found {sorted(bundle.keys())}")
        qrels_key = split if split in bundle else "qrels"
        if qrels_key not in bundle:
            raise DataError(f"{source}: no qrels for split {split!r}; parts present: {sorted(bundle.keys())}")
        return from_rows(f"{local.name}/{split}", bundle["corpus"], bundle["queries"], bundle[qrels_key], source)
    hub_id = source.removeprefix("hf:")
    try:
        corpus = datasets.load_dataset(hub_id, "corpus", split="corpus")
        queries = datasets.load_dataset(hub_id, "queries", split="queries")
        qrels = datasets.load_dataset(f"{hub_id}-qrels", split=split)
    except Exception as exc:  # the hub raises many types; the user needs the one-line reason
        raise DataError(f"could not load {hub_id!r} from the Hugging Face hub ({type(exc).__name__}: {exc}). "
                        "Check the id and your connection, or pass a local BEIR folder") from None
    return from_rows(f"{hub_id}/{split}", corpus, queries, qrels, hub_id)
