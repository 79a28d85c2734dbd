from __future__ import annotations

import pytest

from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.errors import ConfigError, DataError
from rerank_fix.mine.config import MineConfig, build_config, parse_range
from rerank_fix.mine.miner import HardNegativeMiner


def _mine(data, dense=None, **settings):
    return HardNegativeMiner(MineConfig(**settings), dense=dense, show_progress=False).mine(data)


def _two_positive_queries(data: EvalSet) -> list[str]:
    return [q for q, judged in data.qrels.items() if sum(g > 0 for g in judged.values()) == 2]


def test_window_quota_and_no_positive_among_negatives(demo_train, mine_dense):
    result = _mine(demo_train, mine_dense, range_min=2, range_max=40, negatives=8)
    mine_dense.index(demo_train.corpus)
    run = mine_dense.search(demo_train.query_texts, k=40)
    assert result.records
    for rec in result.records:
        positives = {d for d, g in demo_train.qrels[rec.query_id].items() if g > 0}
        assert 0 < len(rec.neg_ids) <= 8 and len(set(rec.neg_ids)) == len(rec.neg_ids)
        assert not positives & set(rec.neg_ids)
        assert set(rec.pos_ids) == positives
        assert rec.neg_ranks == sorted(rec.neg_ranks) and all(2 < r <= 40 for r in rec.neg_ranks)
        # Recorded ranks are the stage-one ranks of the dense retriever.
        ranked = run.ranked_ids(rec.query_id)
        assert [ranked.index(d) + 1 for d in rec.neg_ids] == rec.neg_ranks
    c = result.stats["candidates"]
    assert c["in_window"] == sum(min(len(run.ranked_ids(q)), 40) - 2 for q in demo_train.queries)
    assert c["dropped_total"] + c["emitted"] + c["passed_but_not_needed"] == c["negative_candidates"]
    assert c["emitted"] == sum(len(r.neg_ids) for r in result.records)
    assert result.stats["queries"]["emitted"] == len(result.records)


def test_top_sampling_agrees_with_sentence_transformers(demo_train, bi_encoder, mine_dense, monkeypatch):
    """Same model, margin and top-k: our negatives equal sentence-transformers' mine_hard_negatives."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    # Its encoder calls read the same cached embeddings (the vectors are the model's either way), so the
    # comparison is about candidate selection and takes no re-encoding.
    cached = lambda texts, **kwargs: mine_dense.encode(list(texts))  # noqa: E731
    monkeypatch.setattr(bi_encoder, "encode_document", cached, raising=False)
    monkeypatch.setattr(bi_encoder, "encode_query", cached, raising=False)

    corpus = demo_train.corpus
    pairs = {"query": [], "answer": []}
    for qid, judged in demo_train.qrels.items():
        for doc_id, grade in judged.items():
            if grade > 0:
                pairs["query"].append(demo_train.queries[qid].text)
                pairs["answer"].append(corpus[doc_id].full_text)
    theirs = mine_hard_negatives(Dataset.from_dict(pairs), bi_encoder,
                                 corpus=[d.full_text for d in corpus.values()], range_max=40, num_negatives=5,
                                 relative_margin=0.05, sampling_strategy="top", output_format="n-tuple",
                                 verbose=False)
    id_of = {d.full_text: d.doc_id for d in corpus.values()}
    expected = {row["query"]: {id_of[row[f"negative_{i}"]] for i in range(1, 6)} for row in theirs}
    # Exact duplicates aside (none in the demo), threshold 1.0 leaves only the margin rule active.
    ours = _mine(demo_train, mine_dense, range_min=0, range_max=40, negatives=5, relative_margin=0.05,
                 near_duplicate_threshold=1.0)
    full = {r.query: set(r.neg_ids) for r in ours.records if len(r.neg_ids) == 5}
    # Both leave out the same queries (those whose least similar positive is below every candidate);
    # float noise between two encodings may flip a candidate sitting exactly on the margin, so allow 5%.
    assert len(full.keys() ^ expected.keys()) <= 0.05 * len(expected)
    compared = [(full[q], expected[q]) for q in full.keys() & expected.keys()]
    assert len(compared) >= 0.5 * len(demo_train.queries)
    assert sum(a == b for a, b in compared) >= 0.95 * len(compared)


def test_hidden_positive_is_not_emitted_with_the_filter_on(demo_train, mine_dense):
    """Remove one of two positives from the judgements: the miner must not turn it into a negative.

    The hidden one is the positive the bi-encoder finds more similar to its query (the unlabeled
    positive that sits at the top of the ranking); the margin check is then bound to catch it.
    """
    queries = _two_positive_queries(demo_train)
    assert queries
    hidden, kept = {}, {}
    for qid in queries:
        a, b = sorted(d for d, g in demo_train.qrels[qid].items() if g > 0)
        vecs = mine_dense.encode([demo_train.queries[qid].text, demo_train.corpus[a].full_text,
                                  demo_train.corpus[b].full_text])
        sim_a, sim_b = vecs[1] @ vecs[0], vecs[2] @ vecs[0]
        hidden[qid], kept[qid] = (a, b) if sim_a >= sim_b else (b, a)
    partial = EvalSet("demo/hidden", demo_train.corpus, {q: demo_train.queries[q] for q in queries},
                      {q: {kept[q]: 1} for q in queries})
    settings = dict(range_min=0, range_max=30, negatives=10)
    off = _mine(partial, mine_dense, false_negative_filter=False, **settings)
    on = _mine(partial, mine_dense, **settings)
    emitted_off = {r.query_id for r in off.records if hidden[r.query_id] in r.neg_ids}
    emitted_on = {r.query_id for r in on.records if hidden[r.query_id] in r.neg_ids}
    assert emitted_off, "the hidden positives never reached the window; the test would prove nothing"
    assert emitted_on == set()
    assert on.stats["candidates"]["dropped"]["relative_margin"] >= len(emitted_off)
    assert sum(off.stats["candidates"]["dropped"].values()) == 0


def _with_copies(data: EvalSet, qid: str):
    pos = next(d for d, g in data.qrels[qid].items() if g > 0)
    doc = data.corpus[pos]
    corpus = dict(data.corpus)
    # A reformatted copy (same words) and a lightly edited copy of the positive.
    corpus["copy-exact"] = Document("copy-exact", doc.title.upper(), "  " + doc.text.replace(". ", ".\n\n"))
    corpus["copy-near"] = Document("copy-near", doc.title, doc.text + " Last reviewed in March.")
    return EvalSet("demo/copies", corpus, {qid: data.queries[qid]}, {qid: {pos: 1}}), pos


def test_duplicates_of_a_positive_are_filtered(demo_train):
    qid = next(q for q, judged in demo_train.qrels.items() if len(judged) == 1)
    data, pos = _with_copies(demo_train, qid)
    settings = dict(retriever="bm25", range_min=0, range_max=20, negatives=10, relative_margin=None,
                    near_duplicate_threshold=0.8)
    off = _mine(data, false_negative_filter=False, **settings)
    on = _mine(data, **settings)
    assert {"copy-exact", "copy-near"} <= set(off.records[0].neg_ids)
    assert not {"copy-exact", "copy-near"} & set(on.records[0].neg_ids)
    dropped = on.stats["candidates"]["dropped"]
    assert dropped["exact_duplicate"] == 1 and dropped["near_duplicate"] == 1
    assert on.rank_histograms["exact_duplicate"].sum() == 1


def test_judged_non_relevant_documents_bypass_the_filter(demo_train):
    qid = next(q for q, judged in demo_train.qrels.items() if len(judged) == 1)
    data, pos = _with_copies(demo_train, qid)
    data.qrels[qid]["copy-exact"] = 0  # the user says it is not relevant: trust the label
    result = _mine(data, retriever="bm25", range_min=0, range_max=20, negatives=10, relative_margin=None)
    assert "copy-exact" in result.records[0].neg_ids
    assert result.stats["candidates"]["judged_negatives_used"] == 1


def test_random_sampling_is_seeded_and_draws_from_the_survivors(demo_train):
    settings = dict(retriever="bm25", range_min=3, range_max=40, relative_margin=None)
    survivors = {r.query_id: set(r.neg_ids) for r in _mine(demo_train, negatives=37, **settings).records}
    first = _mine(demo_train, negatives=6, sampling="random", seed=1, **settings)
    again = _mine(demo_train, negatives=6, sampling="random", seed=1, **settings)
    other = _mine(demo_train, negatives=6, sampling="random", seed=2, **settings)
    top = _mine(demo_train, negatives=6, sampling="top", **settings)
    assert [r.neg_ids for r in first.records] == [r.neg_ids for r in again.records]
    assert [r.neg_ids for r in first.records] != [r.neg_ids for r in other.records]
    for rec in first.records:
        assert set(rec.neg_ids) <= survivors[rec.query_id]
        assert rec.neg_ranks == sorted(rec.neg_ranks)
    # Random draws reach deeper into the window than the top strategy.
    assert first.stats["negatives"]["rank"]["mean"] > top.stats["negatives"]["rank"]["mean"]


def test_blocks_do_not_change_the_result(demo_train, mine_dense):
    big = _mine(demo_train, mine_dense, range_max=30, negatives=5, query_block=256)
    small = _mine(demo_train, mine_dense, range_max=30, negatives=5, query_block=7)
    assert [(r.query_id, r.neg_ids) for r in big.records] == [(r.query_id, r.neg_ids) for r in small.records]
    assert big.stats["candidates"] == small.stats["candidates"]


def test_hybrid_ranks_are_the_rrf_ranks(demo_train, mine_dense):
    from rerank_fix.fuse.rrf import reciprocal_rank_fusion
    from rerank_fix.retrieve.bm25 import BM25Retriever

    result = _mine(demo_train, mine_dense, retriever="hybrid", range_min=1, range_max=25, negatives=6)
    mine_dense.index(demo_train.corpus)
    bm25 = BM25Retriever()
    bm25.index(demo_train.corpus)
    fused = reciprocal_rank_fusion([mine_dense.search(demo_train.query_texts, k=25),
                                    bm25.search(demo_train.query_texts, k=25)], depth=25)
    for rec in result.records:
        ranked = fused.ranked_ids(rec.query_id)
        assert [ranked.index(d) + 1 for d in rec.neg_ids] == rec.neg_ranks


def test_typo_copies_reuse_the_clean_querys_negatives(demo_train):
    result = _mine(demo_train, retriever="bm25", range_max=30, negatives=5, relative_margin=None,
                   typo_rate=0.1, typo_copies=2)
    clean = {r.query_id: r for r in result.records if r.source_query_id is None}
    copies = [r for r in result.records if r.source_query_id is not None]
    assert copies and result.stats["queries"]["typo_copies"] == len(copies)
    for rec in copies:
        src = clean[rec.source_query_id]
        assert rec.query_id.startswith(src.query_id + "#typo") and rec.query != src.query
        assert (rec.pos_ids, rec.neg_ids) == (src.pos_ids, src.neg_ids)


def _tiny_set(qrels):
    corpus = {f"d{i}": Document(f"d{i}", "", text) for i, text in enumerate(
        ["vitamin d and bone fractures", "statins and muscle pain", "aspirin and heart attacks",
         "vitamin c and colds", "exercise and sleep quality", "coffee and blood pressure"])}
    queries = {"q1": Query("q1", "does vitamin d prevent fractures"), "q2": Query("q2", "coffee blood pressure")}
    return EvalSet("tiny", corpus, queries, qrels)


def test_queries_without_a_positive_are_skipped_with_a_count():
    data = _tiny_set({"q1": {"d0": 1}, "q2": {"d5": 0}})
    result = _mine(data, retriever="bm25", range_min=0, range_max=5, negatives=2, relative_margin=None)
    assert result.stats["queries"]["skipped_no_positive"] == 1
    assert [r.query_id for r in result.records] == ["q1"]


def test_a_positive_missing_from_the_corpus_is_named():
    data = _tiny_set({"q1": {"d0": 1}, "q2": {"ghost-doc": 1}})
    with pytest.raises(DataError, match=r"positive document 'ghost-doc' of query 'q2' is not in the corpus"):
        _mine(data, retriever="bm25", range_min=0, range_max=5, negatives=2, relative_margin=None)


def test_no_positive_at_all_is_an_error():
    with pytest.raises(DataError, match="no query has a relevant document"):
        _mine(_tiny_set({"q1": {"d0": 0}}), retriever="bm25", range_min=0, range_max=5, negatives=2)


def test_config_validation_messages():
    assert parse_range("3:100") == (3, 100) and parse_range("2-200") == (2, 200)
    with pytest.raises(ConfigError, match="two integers"):
        parse_range("top10")
    with pytest.raises(ConfigError, match="window 10:5 is empty"):
        build_config(range_min=10, range_max=5)
    with pytest.raises(ConfigError, match="cannot mine 50 negatives"):
        build_config(range_min=3, range_max=20, negatives=50)
    with pytest.raises(ConfigError, match="negatives_per_query: unknown field"):
        build_config({"negatives_per_query": 3})
    assert not MineConfig(retriever="bm25", false_negative_filter=False).needs_dense
    assert MineConfig(retriever="bm25").needs_dense  # the margin check needs the bi-encoder
