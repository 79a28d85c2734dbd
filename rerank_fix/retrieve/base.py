"""The one interface every stage-one retriever implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping

from rerank_fix.core.types import Document
from rerank_fix.core.run import Run


class Retriever(ABC):
    """Index a corpus once, then search many queries.

    Subclasses set ``name`` (used as the run name) and implement :meth:`index` and :meth:`search`.
    """

    name: str = "retriever"

    @abstractmethod
    def index(self, corpus: Mapping[str, Document]) -> None:
        """Build the index over ``doc_id -> Document``."""

    @abstractmethod
    def search(self, queries: Mapping[str, str], k: int = 100) -> Run:
        """Return the top ``k`` documents for each ``query_id -> text``."""
