"""The run: ranked (document, score) lists per query, saved and loaded as standard TREC run files."""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Mapping

from rerank_fix.core.ids import check_id
from rerank_fix.core.textfile import text_lines
from rerank_fix.errors import DataError

Ranking = list[tuple[str, float]]

# (score, doc id), built in C: a Python lambda here was most of the cost of building a large run.
SCORE_THEN_ID = itemgetter(1, 0)


def sort_ranking(items: Iterable[tuple[str, float]]) -> Ranking:
    # trec_eval (and so pytrec_eval) breaks score ties by descending document id; doing the same
    # makes our metrics agree with it exactly, ties included.
    ranking = [(str(d), float(s)) for d, s in items]
    ranking.sort(key=SCORE_THEN_ID, reverse=True)
    return ranking


@dataclass
class Run:
    """Ranked results of one system, ``query_id -> [(doc_id, score), ...]`` best first.

    Args:
        name: System name, written as the TREC run tag.
        results: Per-query rankings; they are sorted on construction, so any order may be passed.

    Example:
        >>> run = Run.from_scores("bm25", {"q1": {"d1": 2.0, "d2": 3.5}})
        >>> run.ranked_ids("q1")
        ['d2', 'd1']
    """

    name: str
    results: dict[str, Ranking] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.results = {str(qid): sort_ranking(items) for qid, items in self.results.items()}

    @classmethod
    def from_sorted(cls, name: str, results: dict[str, Ranking]) -> "Run":
        """A run from rankings that are already ``(str, float)`` pairs in :func:`sort_ranking` order, taken as
        they are (no copy): for retrievers that build them that way, so a large run is not built twice."""
        run = cls.__new__(cls)
        run.name, run.results = name, results
        return run

    @classmethod
    def from_scores(cls, name: str, scores: Mapping[str, Mapping[str, float]]) -> "Run":
        return cls(name, {qid: list(docs.items()) for qid, docs in scores.items()})

    def to_scores(self) -> dict[str, dict[str, float]]:
        return {qid: dict(items) for qid, items in self.results.items()}

    @property
    def query_ids(self) -> list[str]:
        return list(self.results)

    def ranked_ids(self, query_id: str, k: int | None = None) -> list[str]:
        items = self.results.get(query_id, [])
        return [doc_id for doc_id, _ in (items if k is None else items[:k])]

    def top(self, k: int, name: str | None = None) -> "Run":
        return Run(name or self.name, {qid: items[:k] for qid, items in self.results.items()})

    def renamed(self, name: str) -> "Run":
        return Run(name, {qid: list(items) for qid, items in self.results.items()})

    def to_trec(self, path: str | Path) -> Path:
        """Write ``qid Q0 docid rank score tag`` lines, atomically."""
        from rerank_fix.core.jsonio import atomic_writer

        path = Path(path)
        tag = "".join("_" if c.isspace() or not c.isprintable() else c for c in self.name) or "run"
        with atomic_writer(path) as handle:
            for qid, items in self.results.items():
                # A space, tab or newline in an id would split or forge a line: refuse it rather than write it.
                check_id(qid, "query", path, None)
                for rank, (doc_id, score) in enumerate(items, start=1):
                    check_id(doc_id, "document", path, None)
                    handle.write(f"{qid} Q0 {doc_id} {rank} {score!r} {tag}\n")
        return path

    @classmethod
    def from_trec(cls, path: str | Path, name: str | None = None) -> "Run":
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: run file not found — check the path")
        results: dict[str, Ranking] = {}
        tag = None
        for line_no, line in text_lines(path, "run file"):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 6:
                raise DataError(f"{path}:{line_no}: a TREC run line has 6 fields "
                                f"(qid Q0 docid rank score tag), got {len(fields)}")
            qid, _, doc_id, _, score, tag = fields
            try:
                value = float(score)
            except ValueError:
                raise DataError(f"{path}:{line_no}: score {score!r} is not a number — fix the run file") from None
            results.setdefault(qid, []).append((doc_id, value))
        return cls(name or tag or path.stem, results)

    def __len__(self) -> int:
        return len(self.results)
