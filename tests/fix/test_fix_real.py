"""Slow fix checks: a reranker mined and trained first (--train-split), and a real collection."""
from __future__ import annotations

from pathlib import Path

import pytest

from rerank_fix.fix import fix, load_bundle

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = pytest.mark.real


def test_train_split_mines_and_trains_a_reranker_first(tmp_path):
    result = fix("demo", tmp_path / "bundle", train_split="train", budget_minutes=0.5, depths=[10], top_k=50,
                 latency_sample=0, max_length=128, show_progress=False)
    assert result.models["quick"]["source"] == "quick_train" and result.models["quick"]["split"] == "train"
    assert "dense+quick-top10" in [c.name for c in result.candidates]
    assert result.guarantees[0].holds or not result.recommended.switched


@pytest.mark.skipif(not (DATA / "msmarco-dl19-subset").is_dir(), reason="../shared/data/msmarco-dl19-subset absent")
def test_dl19_clean_and_typo_sets_never_route_on_query_set(tmp_path):
    sets = {"clean": "queries.dl2019-clean.jsonl", "typo1": "queries.typo1.jsonl"}
    result = fix(str(DATA / "msmarco-dl19-subset"), tmp_path / "bundle", query_sets=sets, latency_sample=0,
                 show_progress=False, plots=False)
    assert result.recommended.dimension != "query_set"
    assert all(p.dimension != "query_set" for p in result.nested.outcome.fold_policies)
    # Both versions of a query share an outer fold: no fold is tuned on a twin of a query it scores.
    for fold in result.comparison.folds:
        bases = {q.split("::", 1)[1] for q in fold}
        others = {q.split("::", 1)[1] for f in result.comparison.folds if f is not fold for q in f}
        assert not bases & others
    applied = load_bundle(tmp_path / "bundle").run(result.comparison.eval_set)
    assert set(applied.choices) == set(result.comparison.eval_set.queries)
