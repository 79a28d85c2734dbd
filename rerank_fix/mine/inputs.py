"""Mining input from the user's own training file instead of a BEIR split.

A FlagEmbedding-style JSONL, one query a line: ``{"query": ..., "pos": [texts]}`` and/or
``{"query": ..., "pos_ids": [ids]}`` (``query_id`` optional; an existing ``neg`` list is ignored, the
negatives are mined again). Every positive must be a corpus document, so that it is known and can never
be drawn as a negative of its own query: ids are looked up directly, texts by their normalised-text hash
(case, spacing and punctuation do not matter, and either the body alone or title + body may be given).
A positive that is not in the corpus is an error naming the file, line and positive.

Plain (query, doc_id) pair files are read by :func:`rerank_fix.data.load_eval_set`, which checks their
ids against the corpus the same way.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from rerank_fix.data.beir import assemble, read_corpus
from rerank_fix.core.ids import check_id
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.data.jsonl import read_jsonl, require_str
from rerank_fix.errors import DataError
from rerank_fix.mine.dedup import text_hash

logger = logging.getLogger("rerank_fix.mine")


def is_own_triples_file(path: str | Path) -> bool:
    """A ``.jsonl`` whose first object has ``pos`` or ``pos_ids`` (rather than a pairs file's ``doc_id``)."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".jsonl":
        return False
    # A sniff only: bad bytes are reported with their line by the reader that follows.
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                try:
                    obj = json.loads(line)
                except (json.JSONDecodeError, RecursionError):
                    return False
                return isinstance(obj, dict) and ("pos" in obj or "pos_ids" in obj)
    return False


def _preview(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def _text_index(corpus: dict[str, Document]) -> dict[str, str]:
    index: dict[str, str] = {}
    for doc_id, doc in corpus.items():
        for text in (doc.full_text, doc.text):
            index.setdefault(text_hash(text), doc_id)
    return index


def load_own_pairs(path: str | Path, corpus_path: str | Path | None = None, name: str | None = None) -> EvalSet:
    """Read a FlagEmbedding-style JSONL into an :class:`EvalSet` whose positives are corpus documents.

    Args:
        path: The JSONL file.
        corpus_path: ``corpus.jsonl`` (default: beside ``path``).
        name: Display name (default: the file stem).

    Example:
        >>> ds = load_own_pairs("my_train.jsonl", "corpus.jsonl")  # doctest: +SKIP
    """
    path = Path(path)
    corpus_path = Path(corpus_path) if corpus_path else path.parent / "corpus.jsonl"
    if not corpus_path.is_file():
        raise DataError(f"{path}: mining needs the corpus the negatives come from; put corpus.jsonl beside it "
                        "or pass --corpus PATH")
    corpus = read_corpus(corpus_path)
    by_text: dict[str, str] | None = None
    queries: dict[str, Query] = {}
    qrels: dict[str, dict[str, int]] = {}
    ignored_negatives = 0
    for line_no, obj in read_jsonl(path):
        text = require_str(obj, "query", path, line_no, aliases=("anchor", "question"))
        if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise DataError(f"{path}:{line_no}: the query has an unpaired surrogate escape (\\ud800-\\udfff) — fix "
                            "the escape")
        explicit = obj.get("query_id")
        qid = str(explicit) if explicit not in (None, "") else "q" + hashlib.sha1(text.encode()).hexdigest()[:10]
        check_id(qid, "query", path, line_no)
        if qid in queries and queries[qid].text != text:
            raise DataError(f"{path}:{line_no}: query id {qid!r} is used for two different query texts")
        judged = qrels.setdefault(qid, {})
        pos_ids = obj.get("pos_ids")
        pos_texts = obj.get("pos")
        if pos_ids is None and pos_texts is None:
            raise DataError(f"{path}:{line_no}: missing field 'pos' (positive texts) or 'pos_ids' (corpus ids)")
        for field_name, value in (("pos_ids", pos_ids), ("pos", pos_texts)):
            if value is not None and not isinstance(value, list):
                raise DataError(f"{path}:{line_no}: field {field_name!r} must be a list, got {type(value).__name__}")
        if pos_ids is not None:
            for k, doc_id in enumerate(pos_ids, start=1):
                if str(doc_id) not in corpus:
                    raise DataError(f"{path}:{line_no}: positive {k} of query {qid!r}, id {str(doc_id)!r}, is not in "
                                    f"the corpus {corpus_path}; fix the id or add the document to the corpus")
                judged[str(doc_id)] = 1
        elif pos_texts is not None:
            if by_text is None:
                by_text = _text_index(corpus)
            for k, pos in enumerate(pos_texts, start=1):
                if not isinstance(pos, str):
                    raise DataError(f"{path}:{line_no}: positive {k} of query {qid!r} must be a string")
                doc_id = by_text.get(text_hash(pos))
                if doc_id is None:
                    raise DataError(
                        f"{path}:{line_no}: positive {k} of query {qid!r} (\"{_preview(pos)}\") is not in the corpus "
                        f"{corpus_path}: no document has this text. A positive must be in the corpus so it is never "
                        "mined as a negative; add the passage to the corpus or give 'pos_ids' instead")
                judged[doc_id] = 1
        ignored_negatives += bool(obj.get("neg"))
        queries.setdefault(qid, Query(qid, text, {}))
    if not qrels:
        raise DataError(f"{path}: no training queries found")
    if ignored_negatives:
        logger.info("%s: %d lines already have 'neg' lists; they are ignored and mined again", path, ignored_negatives)
    return assemble(name or path.stem, corpus, queries, qrels, path)
