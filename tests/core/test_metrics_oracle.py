"""Our metrics against pytrec_eval and ranx on the same runs: equal to 1e-9."""
from __future__ import annotations

import random

import pytest

from rerank_fix.evaluate.metrics import per_query
from rerank_fix.core.run import Run

pytrec_eval = pytest.importorskip("pytrec_eval")


def random_case(seed: int, n_queries: int = 30, n_docs: int = 80, ties: bool = False):
    rng = random.Random(seed)
    qrels, scores = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.sample(range(n_docs), rng.randint(1, 8))
        qrels[qid] = {f"d{d}": rng.choice([1, 1, 2, 3]) for d in judged}
        if rng.random() < 0.3:  # some judged-non-relevant documents
            qrels[qid][f"d{rng.randrange(n_docs)}"] = 0
        retrieved = rng.sample(range(n_docs), rng.randint(5, 60))
        scores[qid] = {f"d{d}": (float(rng.randint(0, 5)) if ties else rng.random()) for d in retrieved}
    return qrels, scores


def pytrec(qrels, scores, measures):
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, measures)
    return evaluator.evaluate(scores)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("ties", [False, True])
def test_recall_and_ndcg_equal_pytrec_eval(seed, ties):
    qrels, scores = random_case(seed, ties=ties)
    ours = per_query(Run.from_scores("r", scores), qrels, ["recall@5", "recall@10", "recall@50", "ndcg@10", "ndcg@5"])
    theirs = pytrec(qrels, scores, {"recall.5,10,50", "ndcg_cut.5,10"})
    for qid in qrels:
        assert ours["recall@5"][qid] == pytest.approx(theirs[qid]["recall_5"], abs=1e-9)
        assert ours["recall@10"][qid] == pytest.approx(theirs[qid]["recall_10"], abs=1e-9)
        assert ours["recall@50"][qid] == pytest.approx(theirs[qid]["recall_50"], abs=1e-9)
        assert ours["ndcg@10"][qid] == pytest.approx(theirs[qid]["ndcg_cut_10"], abs=1e-9)
        assert ours["ndcg@5"][qid] == pytest.approx(theirs[qid]["ndcg_cut_5"], abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_mrr_equals_pytrec_eval_on_cut_run(seed):
    qrels, scores = random_case(seed)
    run = Run.from_scores("r", scores)
    ours = per_query(run, qrels, ["mrr@10"])
    theirs = pytrec(qrels, run.top(10).to_scores(), {"recip_rank"})
    for qid in qrels:
        assert ours["mrr@10"][qid] == pytest.approx(theirs[qid]["recip_rank"], abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_means_equal_ranx(seed):
    ranx = pytest.importorskip("ranx")
    qrels, scores = random_case(seed)
    ours = per_query(Run.from_scores("r", scores), qrels, ["ndcg@10", "mrr@10", "recall@10"])
    means = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(scores), ["ndcg@10", "mrr@10", "recall@10"])
    for metric in ("ndcg@10", "mrr@10", "recall@10"):
        assert sum(ours[metric].values()) / len(qrels) == pytest.approx(means[metric], abs=1e-9)


def test_unretrieved_query_scores_zero():
    ours = per_query(Run("r", {}), {"q": {"d": 1}}, ["recall@10", "ndcg@10", "mrr@10"])
    assert ours == {"recall@10": {"q": 0.0}, "ndcg@10": {"q": 0.0}, "mrr@10": {"q": 0.0}}


def test_unknown_metric_is_a_config_error():
    from rerank_fix.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown metric"):
        per_query(Run("r", {}), {"q": {"d": 1}}, ["map@10"])
