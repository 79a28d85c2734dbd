"""BEIR-layout folders: ``corpus.jsonl``, ``queries*.jsonl``, ``qrels/<split>.tsv``."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Mapping

from rerank_fix.core.ids import check_id
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.core.textfile import text_lines
from rerank_fix.data.jsonl import parse_grade, read_jsonl, read_tsv, require_id, text_field
from rerank_fix.errors import DataError, quote

logger = logging.getLogger("rerank_fix.data")


def read_corpus(path: str | Path) -> dict[str, Document]:
    path = Path(path)
    corpus: dict[str, Document] = {}
    first_line: dict[str, int] = {}
    for line_no, obj in read_jsonl(path, "corpus file"):
        doc_id = require_id(obj, "_id", "document", path, line_no, aliases=("id", "doc_id", "corpus-id"))
        if doc_id in corpus:
            raise DataError(f"{path}:{line_no}: duplicate document id {doc_id!r} (first seen on line "
                            f"{first_line[doc_id]}); document ids must be unique")
        title = text_field(obj, "title", path, line_no) or ""
        text = text_field(obj, "text", path, line_no, default=None)
        if text is None:
            raise DataError(f"{path}:{line_no}: document {quote(doc_id)} has no 'text' field — add one (it may be \"\")")
        if not str(title).strip() and not str(text).strip():
            logger.warning("%s:%d: document %r has empty title and text; it can never be retrieved",
                           path, line_no, doc_id)
        corpus[doc_id] = Document(doc_id, title, text, _metadata(obj, path, line_no))
        first_line[doc_id] = line_no
    if not corpus:
        raise DataError(f"{path}: the corpus is empty — it needs one JSON object per line")
    return corpus


def read_queries(path: str | Path) -> dict[str, Query]:
    path = Path(path)
    queries: dict[str, Query] = {}
    first_line: dict[str, int] = {}
    for line_no, obj in read_jsonl(path, "queries file"):
        query_id = require_id(obj, "_id", "query", path, line_no, aliases=("id", "query_id", "query-id"))
        if query_id in queries:
            raise DataError(f"{path}:{line_no}: duplicate query id {query_id!r} (first seen on line "
                            f"{first_line[query_id]}); query ids must be unique")
        text = text_field(obj, "text", path, line_no, default=None, aliases=("query",))
        if text is None:
            raise DataError(f"{path}:{line_no}: query {quote(query_id)} has no 'text' field — add the query text")
        if not str(text).strip():
            raise DataError(f"{path}:{line_no}: query {query_id!r} has empty text; fill it in or remove the line")
        metadata = _metadata(obj, path, line_no)
        # Top-level extras (segment, class, ...) are kept as metadata so they can become strata.
        for key, value in obj.items():
            if key not in {"_id", "id", "query_id", "query-id", "text", "query", "metadata"}:
                metadata.setdefault(key, value)
        queries[query_id] = Query(query_id, text, metadata)
        first_line[query_id] = line_no
    if not queries:
        raise DataError(f"{path}: the queries file is empty — it needs one JSON object per line")
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read ``query-id  corpus-id  score`` (BEIR) or ``qid 0 docid score`` (TREC) lines.

    Duplicate lines with conflicting grades keep the highest grade, with a warning naming both lines.
    """
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    seen_at: dict[tuple[str, str], int] = {}
    for line_no, fields in read_tsv(path, delimiter="\t" if _is_tab_separated(path) else " ", what="qrels file"):
        fields = [f for f in fields if f != ""]
        if line_no == 1 and fields and fields[0].lower() in {"query-id", "query_id", "qid"}:
            continue
        if len(fields) == 4:
            query_id, _, doc_id, grade_text = fields
        elif len(fields) == 3:
            query_id, doc_id, grade_text = fields
        else:
            raise DataError(f"{path}:{line_no}: expected 3 columns (query-id, corpus-id, score) "
                            f"or 4 (TREC: qid 0 docid score), got {len(fields)}")
        check_id(query_id, "query", path, line_no)
        check_id(doc_id, "document", path, line_no)
        grade = parse_grade(grade_text, path, line_no)
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged and judged[doc_id] != grade:
            kept = max(judged[doc_id], grade)
            logger.warning("%s:%d: conflicting grades for query %r, document %r (%d on line %d, %d here); "
                           "kept the higher grade %d", path, line_no, query_id, doc_id, judged[doc_id],
                           seen_at[(query_id, doc_id)], grade, kept)
            grade = kept
        judged[doc_id] = grade
        seen_at.setdefault((query_id, doc_id), line_no)
    if not qrels:
        raise DataError(f"{path}: no judgements found — a qrels line is query-id<TAB>corpus-id<TAB>score")
    return qrels


def _is_tab_separated(path: Path) -> bool:
    for _, line in text_lines(path, "qrels file"):
        if line.strip():
            return "\t" in line
    return True


def _metadata(obj: dict, path: Path, line_no: int) -> dict:
    metadata = obj.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise DataError(f"{path}:{line_no}: field 'metadata' must be an object, got {type(metadata).__name__} — "
                        'write it as {"field": "value"}')
    return dict(metadata)


def check_references(qrels: Mapping[str, Mapping[str, int]], queries: Mapping[str, Query],
                     corpus: Mapping[str, Document], qrels_path: str | Path) -> None:
    unknown_queries = sorted(set(qrels) - set(queries))
    if unknown_queries:
        raise DataError(f"{qrels_path}: {len(unknown_queries)} judged query id(s) are not in the queries file, "
                        f"e.g. {_preview(unknown_queries)}; fix the ids or pass the right --queries file")
    unknown_docs = sorted({d for judged in qrels.values() for d in judged} - set(corpus))
    if unknown_docs:
        raise DataError(f"{qrels_path}: {len(unknown_docs)} judged document id(s) are not in the corpus, "
                        f"e.g. {_preview(unknown_docs)}; fix the ids or add the documents to corpus.jsonl")


def _preview(items: Iterable[str], n: int = 3) -> str:
    items = list(items)
    shown = ", ".join(repr(i) for i in items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")


def load_beir_folder(folder: str | Path, split: str = "test", queries_file: str | None = None,
                     name: str | None = None) -> EvalSet:
    folder = Path(folder)
    qrels_dir = folder / "qrels"
    qrels_path = qrels_dir / f"{split}.tsv"
    if qrels_path.is_dir() or qrels_path.is_symlink():
        from rerank_fix.core.textfile import check_input_file

        check_input_file(qrels_path, "qrels file")
    if not qrels_path.is_file():
        available = sorted(p.stem for p in qrels_dir.glob("*.tsv") if p.is_file()) if qrels_dir.is_dir() else []
        raise DataError(f"{folder}: no split {split!r} (expected {qrels_path}); "
                        f"available splits: {', '.join(available) or 'none'}")
    queries_path = _resolve_queries_path(folder, queries_file)
    corpus = read_corpus(folder / "corpus.jsonl")
    queries = read_queries(queries_path)
    qrels = read_qrels(qrels_path)
    check_references(qrels, queries, corpus, qrels_path)
    return assemble(name or f"{folder.name}/{split}", corpus, queries, qrels, qrels_path)


def _resolve_queries_path(folder: Path, queries_file: str | None) -> Path:
    if queries_file is None:
        return folder / "queries.jsonl"
    if Path(queries_file).is_dir():
        raise DataError(f"{queries_file}: the queries file is a folder — give a queries*.jsonl file")
    candidate = Path(queries_file)
    if candidate.is_file():
        return candidate
    if (folder / queries_file).is_file():
        return folder / queries_file
    options = ", ".join(sorted(p.name for p in folder.glob("queries*.jsonl")))
    raise DataError(f"queries file {queries_file!r} not found in {folder} (available: {options or 'none'})")


def assemble(name: str, corpus: dict[str, Document], queries: dict[str, Query],
             qrels: dict[str, dict[str, int]], source: str | Path) -> EvalSet:
    """Keep the judged queries with at least one relevant document, in qrels order."""
    relevant = {qid: judged for qid, judged in qrels.items() if any(g > 0 for g in judged.values())}
    dropped = len(qrels) - len(relevant)
    if dropped:
        logger.warning("%s: %d judged queries have no relevant document (grade > 0) and are skipped",
                       source, dropped)
    if not relevant:
        raise DataError(f"{source}: no query has a relevant document (grade > 0); nothing to evaluate")
    return EvalSet(name, corpus, {qid: queries[qid] for qid in relevant}, relevant)
