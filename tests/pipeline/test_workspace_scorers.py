"""The workspace builds every scorer backend through SCORERS: torch included, and a backend added in a test."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.pipeline.recipe import RerankStage
from rerank_fix.pipeline.workspace import PairScoreCache, Workspace
from rerank_fix.rerank.base import SCORERS, Reranker

CORPUS = {"d1": Document("d1", "", "reset your password"), "d2": Document("d2", "", "export invoices as csv")}


@SCORERS.register("test-word-overlap")
class WordOverlapScorer(Reranker):
    """Scores a pair by the words query and document share; registered here, in the test, only."""

    def __init__(self, model: str, max_length: int | None = 512, batch_size: int = 32, **options) -> None:
        self.model_path, self.max_length, self.batch_size, self.options = model, max_length, batch_size, options

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return np.array([len(set(q.split()) & set(d.split())) for q, d in pairs], dtype=np.float32)


def test_a_backend_registered_in_scorers_is_what_the_workspace_builds():
    ws = Workspace(CORPUS, show_progress=False, score_cache=False)
    cfg = RerankStage(model="m", backend="test-word-overlap", max_length=64, batch_size=4)
    scorer = ws.reranker(cfg, "path/to/m")
    assert isinstance(scorer, WordOverlapScorer) and ws.reranker(cfg, "path/to/m") is scorer  # built once
    assert (scorer.model_path, scorer.max_length, scorer.batch_size) == ("path/to/m", 64, 4)
    assert scorer.options == {"trust_remote_code": False}
    shared = ws.reranker(cfg, "path/to/m", share_scores=True)
    assert isinstance(shared, PairScoreCache) and shared.inner is scorer
    assert list(shared.score([("reset password", "reset your password"), ("reset", "csv")])) == [2.0, 0.0]


def test_the_torch_scorer_comes_from_scorers_and_shares_the_loaded_model():
    ws = Workspace(CORPUS, show_progress=False, score_cache=False)
    cfg = RerankStage(model="bundled", max_length=32, batch_size=2)
    scorer = ws.reranker(cfg, "bundled")
    assert type(scorer) is SCORERS.get("torch")
    assert scorer.model is ws.cross_encoder("bundled", 32, False)  # loaded once, shared by every pipeline
    assert ws.reranker(cfg, "bundled") is scorer and scorer.batch_size == 2 and scorer.show_progress is False
    assert scorer.score([("reset password", "reset your password")]).shape == (1,)
