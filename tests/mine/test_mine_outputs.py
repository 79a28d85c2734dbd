from __future__ import annotations

import json

import pytest

from rerank_fix.mine.config import MineConfig
from rerank_fix.mine.miner import HardNegativeMiner


@pytest.fixture(scope="module")
def written(demo_train, tmp_path_factory):
    cfg = MineConfig(retriever="bm25", range_min=2, range_max=30, negatives=6, relative_margin=None,
                     typo_rate=0.1)
    result = HardNegativeMiner(cfg, show_progress=False).mine(demo_train)
    out = tmp_path_factory.mktemp("mined")
    return result, result.write(str(out)), out


def test_flag_embedding_jsonl(written, demo_train):
    result, paths, _ = written
    rows = [json.loads(line) for line in open(paths["flag_jsonl"], encoding="utf-8")]
    assert len(rows) == len(result.records)
    for row, rec in zip(rows, result.records):
        assert set(row) == {"query", "pos", "neg", "query_id", "pos_ids", "neg_ids"}
        assert row["query_id"] == rec.query_id and row["neg_ids"] == rec.neg_ids
        assert row["pos"] == [demo_train.corpus[d].full_text for d in row["pos_ids"]]
        assert row["neg"] == [demo_train.corpus[d].full_text for d in row["neg_ids"]]
    assert any("#typo" in r["query_id"] for r in rows)


def test_sentence_transformers_datasets(written):
    import pyarrow.parquet as pq
    from datasets import load_from_disk

    result, paths, _ = written
    n = result.config.negatives
    triplet = load_from_disk(paths["triplet_dataset"])
    assert triplet.column_names == ["anchor", "positive", "negative"]
    assert triplet.num_rows == sum(len(r.pos_ids) * len(r.neg_ids) for r in result.records)
    rec = result.records[0]
    first = triplet[0]
    assert first == {"anchor": rec.query, "positive": result.text(rec.pos_ids[0]),
                     "negative": result.text(rec.neg_ids[0])}
    ntuple = load_from_disk(paths["n-tuple_dataset"])
    assert ntuple.column_names == ["anchor", "positive", *[f"negative_{i}" for i in range(1, n + 1)]]
    full = [r for r in result.records if len(r.neg_ids) >= n]
    assert ntuple.num_rows == sum(len(r.pos_ids) for r in full)
    assert ntuple[0]["negative_2"] == result.text(full[0].neg_ids[1])
    # The parquet copies hold the same rows.
    assert pq.read_table(paths["triplet_parquet"]).to_pylist()[:5] == triplet.select(range(5)).to_list()
    assert pq.read_table(paths["n-tuple_parquet"]).num_rows == ntuple.num_rows


def test_datasets_feed_a_sentence_transformers_loss(written, bi_encoder):
    """The triplet columns are what MultipleNegativesRankingLoss reads: one real loss evaluation."""
    import torch
    from datasets import load_from_disk
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    _, paths, _ = written
    rows = load_from_disk(paths["triplet_dataset"]).select(range(4))
    features = [bi_encoder.tokenize(rows[col]) for col in rows.column_names]
    with torch.no_grad():
        loss = MultipleNegativesRankingLoss(bi_encoder)(features, labels=None)
    assert torch.isfinite(loss) and loss.item() > 0


def test_stats_and_histogram(written):
    result, paths, out = written
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats["outputs"]["flag_jsonl_rows"] == len(result.records)
    assert stats["outputs"]["triplet_rows"] == sum(len(r.pos_ids) * len(r.neg_ids) for r in result.records)
    assert stats["settings"]["negatives"] == 6 and stats["settings"]["retriever"] == "bm25"
    assert set(stats["candidates"]["dropped"]) >= {"exact_duplicate", "near_duplicate", "relative_margin", "teacher"}
    assert stats["queries"]["typo_copies"] > 0
    png = (out / "histogram.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_rewriting_replaces_the_outputs(written, demo_train, tmp_path):
    result, _, _ = written
    small = HardNegativeMiner(MineConfig(retriever="bm25", range_max=10, negatives=2, relative_margin=None),
                              show_progress=False).mine(demo_train.subset(list(demo_train.queries)[:3]))
    first = result.write(str(tmp_path), plot=False)
    second = small.write(str(tmp_path), plot=False)
    from datasets import load_from_disk

    assert first["triplet_dataset"] == second["triplet_dataset"]
    assert load_from_disk(second["triplet_dataset"]).num_rows == sum(
        len(r.pos_ids) * len(r.neg_ids) for r in small.records)
    assert not list(tmp_path.glob("**/*.tmp")) and not list(tmp_path.glob("rerank_fix_mine_*"))
