from __future__ import annotations

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.retrieve.dense import DenseRetriever
from rerank_fix.retrieve.index import top_k_cosine

DOCS = {
    "refund": Document("refund", "Refund policy", "Annual subscriptions can be refunded within 30 days."),
    "keys": Document("keys", "API keys", "Create a second key, deploy it, then revoke the old key."),
    "sso": Document("sso", "Single sign-on", "Configure SAML single sign-on for your organisation."),
    "outage": Document("outage", "Postmortem", "The database failover during the outage took 40 minutes."),
}


def test_top_k_cosine_is_exact_in_blocks():
    rng = np.random.default_rng(0)
    docs = rng.normal(size=(50, 8)).astype(np.float32)
    queries = rng.normal(size=(7, 8)).astype(np.float32)
    idx, scores = top_k_cosine(queries, docs, k=5, block=3)
    full = queries @ docs.T
    for i in range(7):
        assert list(idx[i]) == list(np.argsort(-full[i])[:5])
        assert np.allclose(scores[i], np.sort(full[i])[::-1][:5])


def test_dense_retrieves_and_cache_skips_reencoding(bi_encoder, tmp_path):
    first = DenseRetriever(bi_encoder, cache_dir=tmp_path, show_progress=False)
    first.index(DOCS)
    run = first.search({"q": "how do I get my money back", "k": "rotate credentials safely"}, k=2)
    assert run.ranked_ids("q")[0] == "refund"
    assert run.ranked_ids("k")[0] == "keys"
    assert first.encoded_count == len(DOCS) + 2
    second = DenseRetriever(bi_encoder, cache_dir=tmp_path, show_progress=False)
    second.index(DOCS)
    again = second.search({"q": "how do I get my money back", "k": "rotate credentials safely"}, k=2)
    assert second.encoded_count == 0
    assert again.ranked_ids("q") == run.ranked_ids("q")
    for qid in run.results:
        assert np.allclose([s for _, s in again.results[qid]], [s for _, s in run.results[qid]], atol=1e-6)


def test_cache_is_keyed_by_model(bi_encoder, tmp_path):
    DenseRetriever(bi_encoder, cache_dir=tmp_path, show_progress=False).index(DOCS)
    other = DenseRetriever(bi_encoder, cache_dir=tmp_path, show_progress=False, doc_prefix="passage: ")
    other.index(DOCS)  # a prefix changes the texts, so they are encoded anew
    assert other.encoded_count == len(DOCS)
