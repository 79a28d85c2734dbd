"""Published figures reproduced and metrics equal pytrec_eval on the real sets (``make test-real``)."""
from __future__ import annotations

import pytest

from rerank_fix.data import load_eval_set
from rerank_fix.evaluate.metrics import mean_scores, per_query
from rerank_fix.retrieve.bm25 import BM25Retriever
from rerank_fix.retrieve.dense import DenseRetriever
from tests.conftest import shared_set

pytestmark = pytest.mark.real


def test_dense_minilm_scifact_matches_published(bi_encoder):
    ds = load_eval_set(shared_set("scifact"), "test")
    dense = DenseRetriever(bi_encoder, show_progress=False)
    dense.index(ds.corpus)
    ndcg = mean_scores(per_query(dense.search(ds.query_texts, 100), ds.qrels, ["ndcg@10"]))["ndcg@10"]
    print(f"dense all-MiniLM-L6-v2 scifact nDCG@10 = {ndcg:.4f} (published 0.645)")
    assert abs(ndcg - 0.645) <= 0.01


@pytest.mark.parametrize("name", ["scifact", "cosqa", "vaswani", "msmarco-dl19-subset"])
def test_metrics_equal_pytrec_eval_on_real_runs(name):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    ds = load_eval_set(shared_set(name), "test")
    bm25 = BM25Retriever()
    bm25.index(ds.corpus)
    run = bm25.search(ds.query_texts, 100)
    ours = per_query(run, ds.qrels, ["recall@5", "recall@100", "ndcg@10"])
    theirs = pytrec_eval.RelevanceEvaluator(ds.qrels, {"recall.5,100", "ndcg_cut.10"}).evaluate(run.to_scores())
    for qid in theirs:
        assert ours["recall@5"][qid] == pytest.approx(theirs[qid]["recall_5"], abs=1e-9)
        assert ours["recall@100"][qid] == pytest.approx(theirs[qid]["recall_100"], abs=1e-9)
        assert ours["ndcg@10"][qid] == pytest.approx(theirs[qid]["ndcg_cut_10"], abs=1e-9)
