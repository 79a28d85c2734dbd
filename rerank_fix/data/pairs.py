"""Plain (query, gold document id) pair files, JSONL or CSV, next to a ``corpus.jsonl``.

Each row is one relevant pair. Rows sharing the same query text (or ``query_id``) become one query with
several relevant documents. Any other column (``segment``, ``class`` ...) is kept as query metadata.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from rerank_fix.data.beir import assemble, check_references, read_corpus
from rerank_fix.core.ids import check_id
from rerank_fix.core.types import EvalSet, Query
from rerank_fix.core.textfile import check_input_file
from rerank_fix.data.jsonl import parse_grade, read_csv_dicts, read_jsonl, require_str
from rerank_fix.errors import DataError, quote

_QUERY_KEYS = ("query", "question", "text")
_DOC_KEYS = ("doc_id", "gold_doc_id", "positive_id", "corpus_id", "corpus-id")
_ID_KEYS = ("query_id", "qid", "_id")


def _rows(path: Path):
    if path.suffix.lower() == ".csv":
        yield from read_csv_dicts(path, "pairs file")
    else:
        yield from read_jsonl(path, "pairs file")


def load_pairs(path: str | Path, corpus_path: str | Path | None = None, name: str | None = None) -> EvalSet:
    path = Path(path)
    check_input_file(path, "pairs file")
    corpus_path = Path(corpus_path) if corpus_path else path.parent / "corpus.jsonl"
    if not corpus_path.is_file():
        raise DataError(f"{path}: a pairs file needs a corpus; put corpus.jsonl beside it or pass --corpus PATH")
    corpus = read_corpus(corpus_path)
    queries: dict[str, Query] = {}
    qrels: dict[str, dict[str, int]] = {}
    id_by_text: dict[str, str] = {}
    for line_no, row in _rows(path):
        text = require_str(row, _QUERY_KEYS[0], path, line_no, aliases=_QUERY_KEYS[1:])
        doc_id = check_id(require_str(row, _DOC_KEYS[0], path, line_no, aliases=_DOC_KEYS[1:]), "document", path,
                          line_no)
        explicit_id = next((str(row[k]) for k in _ID_KEYS if row.get(k) not in (None, "")), None)
        if explicit_id is not None:
            check_id(explicit_id, "query", path, line_no)
        # A stable id from the text keeps run files comparable across runs of the same pairs file.
        query_id = explicit_id or id_by_text.setdefault(text, "q" + hashlib.sha1(text.encode()).hexdigest()[:10])
        if query_id in queries and queries[query_id].text != text:
            raise DataError(f"{path}:{line_no}: query id {quote(query_id)} is used for two different query texts — give "
                            "each query text its own id")
        metadata = {k: v for k, v in row.items()
                    if k not in (*_QUERY_KEYS, *_DOC_KEYS, *_ID_KEYS, "score", "grade") and v not in (None, "")}
        queries.setdefault(query_id, Query(query_id, text, metadata))
        raw_grade = row.get("score", row.get("grade"))
        grade = 1 if raw_grade in (None, "") else parse_grade(str(raw_grade), path, line_no)
        qrels.setdefault(query_id, {})[doc_id] = max(grade, qrels.get(query_id, {}).get(doc_id, grade))
    if not qrels:
        raise DataError(f"{path}: no (query, doc_id) pairs found — each row needs a query and a doc_id")
    check_references(qrels, queries, corpus, path)
    return assemble(name or path.stem, corpus, queries, qrels, path)
