"""The three things every evaluation needs: documents, queries and relevance judgements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

#: Graded relevance judgements, ``query_id -> {doc_id: grade}``.
Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Document:
    """One corpus entry.

    Args:
        doc_id: Unique id, as used in qrels and run files.
        title: Optional title; prepended to the text for retrieval.
        text: Body text.
        metadata: Free-form fields carried through untouched.
    """

    doc_id: str
    title: str = ""
    text: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def full_text(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class Query:
    """One query. ``metadata`` fields (``segment``, ``class`` ...) become strata."""

    query_id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class EvalSet:
    """A corpus, the queries of one split and their graded judgements.

    Only queries with at least one relevant document (grade > 0) are kept, so every
    query can be scored by recall.

    Args:
        name: Display name, e.g. ``scifact/test``.
        corpus: ``doc_id -> Document`` in file order.
        queries: ``query_id -> Query`` for the split.
        qrels: ``query_id -> {doc_id: grade}``.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> ds = load_eval_set("demo", split="test")
        >>> len(ds.queries) > 0
        True
    """

    name: str
    corpus: dict[str, Document]
    queries: dict[str, Query]
    qrels: Qrels

    @property
    def query_texts(self) -> dict[str, str]:
        return {qid: q.text for qid, q in self.queries.items()}

    def subset(self, query_ids: Iterable[str], name: str | None = None) -> "EvalSet":
        """A new EvalSet restricted to ``query_ids`` (the corpus is shared, not copied)."""
        keep = [qid for qid in query_ids if qid in self.queries]
        return EvalSet(
            name=name or self.name,
            corpus=self.corpus,
            queries={qid: self.queries[qid] for qid in keep},
            qrels={qid: dict(self.qrels[qid]) for qid in keep},
        )

    def with_query_texts(self, texts: Mapping[str, str], name: str | None = None) -> "EvalSet":
        """Same judgements, different query wording (e.g. typo versions or rewrites)."""
        queries = {
            qid: Query(qid, texts.get(qid, q.text), q.metadata) for qid, q in self.queries.items()
        }
        return EvalSet(name or self.name, self.corpus, queries, {k: dict(v) for k, v in self.qrels.items()})

    def __repr__(self) -> str:
        return f"EvalSet({self.name!r}, docs={len(self.corpus)}, queries={len(self.queries)})"
