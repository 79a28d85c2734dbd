"""`rerank-fix mine --audit`: the candidates the false-negative checks dropped, written for labelling."""
from __future__ import annotations

import json

from rerank_fix.mine.audit import SUSPECT_REASONS
from rerank_fix.mine.config import MineConfig
from rerank_fix.mine.miner import HardNegativeMiner


def test_audit_lists_every_suspect_drop_with_its_reason_and_scores(demo_train, mine_dense, tmp_path):
    # A loose margin so the bi-encoder check drops something on the small demo set.
    cfg = MineConfig(range_min=0, range_max=30, negatives=5, relative_margin=0.3, audit=True)
    result = HardNegativeMiner(cfg, dense=mine_dense, show_progress=False).mine(demo_train)
    paths = result.write(tmp_path / "out", plot=False)
    rows = [json.loads(line) for line in open(paths["audit"], encoding="utf-8")]
    dropped = result.stats["candidates"]["dropped"]
    assert len(rows) == sum(dropped[r] for r in SUSPECT_REASONS) > 0
    emitted = {(r.query_id, d) for r in result.records for d in r.neg_ids}
    for row in rows:
        assert row["reason"] in SUSPECT_REASONS
        assert (row["query_id"], row["doc_id"]) not in emitted
        assert row["doc_id"] not in row["positive_ids"]
        assert row["text"] and row["label"] is None
        if row["reason"] == "relative_margin":
            # The rule it failed: closer to the query than pos - |pos| * margin.
            assert row["dense"] > row["positive_dense"] - abs(row["positive_dense"]) * 0.3
    html = open(paths["audit_html"], encoding="utf-8").read()
    assert html.count("<tr data-q=") == len(rows) and "saveLabels" in html
    assert json.load(open(paths["stats"]))["outputs"]["audit_rows"] == len(rows)


def test_audit_surfaces_hidden_positives(demo_train, mine_dense):
    """Hide the second positive of multi-positive queries: the filters drop most of them, and the audit
    lists each drop under its query."""
    import dataclasses

    hidden = {}
    qrels = {}
    for qid, judged in sorted(demo_train.qrels.items()):
        positives = sorted(d for d, g in judged.items() if g > 0)
        if len(positives) >= 2 and len(hidden) < 20:
            hidden[qid] = positives[1]
            qrels[qid] = {d: g for d, g in judged.items() if d != positives[1]}
    data = dataclasses.replace(demo_train, qrels=qrels)
    cfg = MineConfig(range_min=0, range_max=30, negatives=5, audit=True)
    result = HardNegativeMiner(cfg, dense=mine_dense, show_progress=False).mine(data)
    surfaced = {(s.query_id, s.doc_id) for s in result.audit}
    found = sum((q, d) in surfaced for q, d in hidden.items())
    assert found >= len(hidden) // 2
    mined = {(r.query_id, d) for r in result.records for d in r.neg_ids}
    # Whatever was not surfaced and not outside the window became a (false) negative; never both.
    assert not surfaced & mined
