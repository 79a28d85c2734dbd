"""Stage one from a file: ``run: {path: FILE}`` reads a TREC run (``qid Q0 docid rank score tag``) that your
own search system wrote, so it can be diagnosed, fused (RRF), reranked and routed like a built-in retriever.

Nothing is dropped silently:

- candidate ids that are not in the corpus are counted and reported (they cannot be reranked or judged, so
  they leave the ranking, and the report says how many and for how many queries);
- judged queries the file does not cover score 0, and the report says how many; with ``only_covered: true``
  (``--only-covered``) evaluation is restricted to the queries the file covers instead.

Recipe syntax::

    - run: {path: runs/my-engine.trec}
    - rrf: {retrievers: [dense, {run: {path: runs/my-engine.trec}}]}

Example:
    >>> import tempfile, pathlib
    >>> from rerank_fix.core import Document
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.trec"
    >>> _ = path.write_text("q1 Q0 d1 1 2.0 mine\\nq1 Q0 zz 2 1.0 mine\\n")
    >>> retriever = RunFileStage(path=str(path)).build()
    >>> retriever.index({"d1": Document("d1", text="x")})
    >>> retriever.search({"q1": "ignored", "q2": "not in the file"}).results
    {'q1': [('d1', 2.0)]}
    >>> retriever.coverage({"q1", "q2"})["unknown_doc_ids"]
    1
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping

from pydantic import Field

from rerank_fix.core.run import Run
from rerank_fix.core.types import Document
from rerank_fix.errors import ConfigError, DataError
from rerank_fix.pipeline.stage import STAGES, AddError, StageSpec
from rerank_fix.retrieve.base import Retriever

logger = logging.getLogger("rerank_fix.pipeline")


class RunFileRetriever(Retriever):
    """Serves the rankings of a TREC run file as a retriever (the query text is not used).

    Args:
        path: The run file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = self.path.stem
        self._run: Run | None = None
        self.unknown: dict[str, int] = {}
        self.unknown_examples: list[str] = []

    def index(self, corpus: Mapping[str, Document]) -> None:
        run = Run.from_trec(self.path)
        kept: dict[str, list[tuple[str, float]]] = {}
        for qid, items in run.results.items():
            known = [(doc_id, score) for doc_id, score in items if doc_id in corpus]
            if len(known) < len(items):
                self.unknown[qid] = len(items) - len(known)
                self.unknown_examples.extend(d for d, _ in items if d not in corpus)
            kept[qid] = known
        self._run = Run(run.name, kept)
        if self.unknown:
            logger.warning("%s: %d candidate ids in %d queries are not in the corpus (e.g. %s); they are left out "
                           "of the ranking and counted in the report", self.path, sum(self.unknown.values()),
                           len(self.unknown), ", ".join(self.unknown_examples[:3]))

    @property
    def run(self) -> Run:
        if self._run is None:
            raise RuntimeError("index() the corpus before searching a run file")
        return self._run

    def search(self, queries: Mapping[str, str], k: int = 100) -> Run:
        return Run(self.name, {qid: self.run.results[qid][:k] for qid in queries if qid in self.run.results})

    def coverage(self, judged: Any) -> dict[str, Any]:
        """Counts for the report: judged queries covered, missing, and candidate ids not in the corpus."""
        judged = set(judged)
        covered = judged & set(self.run.results)
        missing = len(judged) - len(covered)
        unknown = sum(self.unknown.values())
        parts = [f"covers {len(covered)} of {len(judged)} judged queries"]
        if missing:
            parts.append(f"the other {missing} score 0 (or pass --only-covered / only_covered: true "
                         "to score only the covered ones)")
        if unknown:
            parts.append(f"{unknown} candidate ids in {len(self.unknown)} queries are not in the corpus and were "
                         f"left out (e.g. {', '.join(self.unknown_examples[:3])})")
        return {"judged": len(judged), "covered": len(covered), "missing": missing, "unknown_doc_ids": unknown,
                "queries_with_unknown_ids": len(self.unknown), "message": "; ".join(parts) + "."}


@STAGES.register("run")
class RunFileStage(StageSpec):
    """Stage one read from a TREC run file (six columns: ``qid Q0 docid rank score tag``).

    Args:
        path: The run file (relative paths: from the current folder, else from the recipe's project).
        top_k: Documents kept per query (the depth later stages can use).
        only_covered: Score only the judged queries the file covers; otherwise the others score 0.

    Example:
        >>> RunFileStage(path="runs/bm25.trec").label()
        'run(bm25)'
    """

    role: ClassVar[str] = "retriever"
    stage: Literal["run"] = "run"
    path: str = Field(min_length=1)
    top_k: int = Field(100, ge=1, le=10_000)
    only_covered: bool = False

    def label(self) -> str:
        return f"run({Path(self.path).stem})"

    def check(self, recipe: Any, add: AddError) -> None:
        resolved = recipe.resolve_path(self.path)
        if not resolved.is_file():
            add(("path",), f"run file {self.path!r} not found; give a TREC run file (qid Q0 docid rank score tag)")
        else:
            self.path = str(resolved)

    def build(self, embedding_cache: Any = None, show_progress: bool = True) -> Retriever:
        return RunFileRetriever(self.path)

    def restrict_queries(self, recipe: Any) -> set[str] | None:
        if not self.only_covered:
            return None
        try:
            return set(Run.from_trec(self.path).results)
        except DataError as exc:
            raise ConfigError(str(exc)) from None
