"""Scorer backends (ONNX Runtime, OpenVINO; fp32 and int8) against torch fp32, and the parity gate."""
from __future__ import annotations

import numpy as np
import pytest

from rerank_fix.rerank.base import SCORERS
from rerank_fix.evaluate.parity import ParityError, measure_parity, require_parity

pytest.importorskip("onnxruntime")
MAX_LENGTH = 128


@pytest.fixture(scope="module")
def demo():
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.bm25 import BM25Retriever

    ds = load_eval_set("demo")
    qids = sorted(q for q in ds.qrels if q in ds.query_texts)[:8]
    bm25 = BM25Retriever()
    bm25.index(ds.corpus)
    run = bm25.search({q: ds.query_texts[q] for q in qids}, k=10)
    pairs = [(ds.query_texts[q], ds.corpus[d].full_text) for q in qids for d in run.ranked_ids(q)]
    return ds, run, pairs


@pytest.fixture(scope="module")
def torch_scorer():
    return SCORERS.get("torch")(None, max_length=MAX_LENGTH, show_progress=False)


def test_all_backends_are_registered():
    assert {"torch", "onnx", "onnx-int8", "openvino", "openvino-int8"} <= set(SCORERS.names())


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_fp32_backends_score_like_torch_and_pass_the_gate(backend, demo, torch_scorer):
    if backend == "openvino":
        pytest.importorskip("openvino")
    ds, run, pairs = demo
    scorer = SCORERS.get(backend)(None, max_length=MAX_LENGTH, batch_size=8)
    # OpenVINO fuses and reorders fp32 kernels more than ONNX Runtime: about 1e-4 on a sigmoid score.
    np.testing.assert_allclose(scorer.score(pairs), torch_scorer.score(pairs), atol=1e-4 if backend == "onnx" else 5e-4)
    result = require_parity(scorer, torch_scorer, run, ds.query_texts, ds.corpus, ds.qrels, depth=10)
    assert result.passed and result.queries == 8 and result.pairs == len(pairs)


@pytest.mark.parametrize("backend", ["onnx-int8", "openvino-int8"])
def test_int8_backends_track_torch(backend, demo, torch_scorer):
    if backend.startswith("openvino"):
        pytest.importorskip("nncf")
    ds, run, pairs = demo
    scorer = SCORERS.get(backend)(None, max_length=MAX_LENGTH, batch_size=8)
    got, ref = scorer.score(pairs), torch_scorer.score(pairs)
    assert np.all(np.isfinite(got))
    assert np.corrcoef(got, ref)[0, 1] > 0.9
    result = measure_parity(scorer, torch_scorer, run, ds.query_texts, ds.corpus, ds.qrels, depth=10)
    assert result.pairs == len(pairs) and np.isfinite(result.delta)


def test_gate_refuses_with_the_figure(demo, torch_scorer):
    ds, run, _ = demo
    scorer = SCORERS.get("onnx")(None, max_length=MAX_LENGTH)
    with pytest.raises(ParityError, match=r"nDCG@10 .* vs torch fp32 .*Refused"):
        # A negative tolerance fails any backend: the refusal path, with its message, on real scores.
        require_parity(scorer, torch_scorer, run, ds.query_texts, ds.corpus, ds.qrels, depth=10, tolerance=-1.0)


def test_length_bucketing_keeps_input_order(demo):
    from transformers import AutoTokenizer

    from rerank_fix.rerank.onnx import length_sorted_batches

    _, _, pairs = demo
    scorer = SCORERS.get("onnx")(None, max_length=MAX_LENGTH, batch_size=4)
    forward = scorer.score(pairs)
    backward = scorer.score(pairs[::-1])
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)
    _, folder = scorer.onnx_file()
    widths = [feed["input_ids"].shape[1]
              for _, feed in length_sorted_batches(AutoTokenizer.from_pretrained(str(folder)), pairs, MAX_LENGTH, 4)]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0]


def test_recipe_rejects_an_unknown_backend():
    from pydantic import ValidationError

    from rerank_fix.pipeline.recipe import RerankStage

    assert RerankStage(model="m", backend="onnx-int8").backend == "onnx-int8"
    with pytest.raises(ValidationError, match="unknown scorer backend 'tensorrt'"):
        RerankStage(model="m", backend="tensorrt")


def test_rerank_stage_runs_a_backend_behind_the_gate(demo):
    from rerank_fix.pipeline.recipe import RerankStage
    from rerank_fix.pipeline.workspace import PairScoreCache, Workspace
    from rerank_fix.rerank.onnx import OnnxScorer

    ds, run, pairs = demo
    ws = Workspace(ds.corpus, show_progress=False, score_cache=False)
    cfg = RerankStage(model="bundled", backend="onnx", depth=10, max_length=MAX_LENGTH)
    reranker = ws.reranker(cfg, "bundled", share_scores=True)
    assert isinstance(reranker, PairScoreCache) and isinstance(reranker.inner, OnnxScorer)
    result = ws.check_parity(cfg, "bundled", run, ds.query_texts, ds.qrels)
    assert result.passed and ws.check_parity(cfg, "bundled", run, ds.query_texts, ds.qrels) is result  # once
    reranked = reranker.rerank(run, ds.query_texts, ds.corpus, depth=10)
    assert set(reranked.results) == set(run.results)
