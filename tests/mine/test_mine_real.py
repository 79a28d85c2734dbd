"""Mining on the real scifact train split (``make test-real``)."""
from __future__ import annotations

import json

import pytest

from rerank_fix.core.types import EvalSet
from rerank_fix.mine.config import MineConfig
from rerank_fix.mine.miner import HardNegativeMiner
from tests.conftest import shared_set

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def scifact_train():
    from rerank_fix.data import load_eval_set

    return load_eval_set(shared_set("scifact"), split="train")


def test_scifact_train_issue_settings(scifact_train, mine_dense, tmp_path):
    """The issue's command (dense, window 3:100, 15 negatives, filter on) over all 809 train queries."""
    result = HardNegativeMiner(MineConfig(range_min=3, range_max=100, negatives=15), dense=mine_dense,
                               show_progress=False).mine(scifact_train)
    paths = result.write(str(tmp_path / "out"))
    stats = json.loads(open(paths["stats"], encoding="utf-8").read())
    q, c = stats["queries"], stats["candidates"]
    assert q["total"] == len(scifact_train.qrels) == 809
    assert q["emitted"] + q["with_no_negatives"] + q["skipped_no_candidates"] + q["skipped_no_positive"] == 809
    assert c["in_window"] == 809 * 97  # dense retrieval always fills the window on a 5,183-document corpus
    assert c["dropped_total"] + c["emitted"] + c["passed_but_not_needed"] == c["negative_candidates"]
    assert c["dropped"]["relative_margin"] > 0
    for rec in result.records:
        assert not set(rec.neg_ids) & {d for d, g in scifact_train.qrels[rec.query_id].items() if g > 0}
        assert all(3 < r <= 100 for r in rec.neg_ranks)
    assert stats["outputs"]["triplet_rows"] == sum(len(r.pos_ids) * len(r.neg_ids) for r in result.records)


def test_scifact_hidden_positive(scifact_train, mine_dense):
    """Hide, for every two-positive train query, the positive the bi-encoder ranks higher."""
    queries = [q for q, j in scifact_train.qrels.items() if sum(g > 0 for g in j.values()) == 2]
    hidden, kept = {}, {}
    for qid in queries:
        a, b = sorted(d for d, g in scifact_train.qrels[qid].items() if g > 0)
        vecs = mine_dense.encode([scifact_train.queries[qid].text, scifact_train.corpus[a].full_text,
                                  scifact_train.corpus[b].full_text])
        hidden[qid], kept[qid] = (a, b) if vecs[1] @ vecs[0] >= vecs[2] @ vecs[0] else (b, a)
    partial = EvalSet("scifact/hidden", scifact_train.corpus, {q: scifact_train.queries[q] for q in queries},
                      {q: {kept[q]: 1} for q in queries})
    settings = dict(range_min=0, range_max=30, negatives=10)
    off = HardNegativeMiner(MineConfig(false_negative_filter=False, **settings), dense=mine_dense,
                            show_progress=False).mine(partial)
    on = HardNegativeMiner(MineConfig(**settings), dense=mine_dense, show_progress=False).mine(partial)
    emitted_off = {r.query_id for r in off.records if hidden[r.query_id] in r.neg_ids}
    emitted_on = {r.query_id for r in on.records if hidden[r.query_id] in r.neg_ids}
    assert len(emitted_off) >= len(queries) // 2
    assert emitted_on == set()
