"""The rewriter stage: gating, modes, result types, summaries, and never losing a query."""
from __future__ import annotations

import math

import pytest

from rerank_fix.core.types import Query
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.strata import QueryLengthStratifier, TypoStratifier
from rerank_fix.rewrite.clients import CallableClient, load_callable
from rerank_fix.rewrite.config import RewriteConfig
from rerank_fix.rewrite.factory import build_gate, build_rewriter
from rerank_fix.rewrite.gates import AllGate, AnyGate, MaxTokensGate, OOVTypoGate, SelectedIdsGate, StratumGate
from rerank_fix.rewrite.spell import SpellRewriter
from rerank_fix.rewrite.stage import LLMRewriter, QueryRewriter
from rerank_fix.rewrite.types import RewriteResult, RewriteSummary, percentile

QUERIES = {
    "q1": Query("q1", "do golddish grow", {"segment": "pets"}),
    "q2": Query("q2", "what is wifj vs bluetooth", {"segment": "tech"}),
    "q3": Query("q3", "goldfish tank size", {}),
    "q4": Query("q4", "set retention to 14d in the v2 api", {}),
    "q5": Query("q5", "how are some sharks wark blooded in cold water", {}),
}


@pytest.fixture(scope="module")
def speller(vocab):
    return SpellRewriter(vocab)


def test_spell_stage_replace_mode(speller):
    before = {qid: (q.text, dict(q.metadata)) for qid, q in QUERIES.items()}
    out = QueryRewriter(speller).rewrite(QUERIES)
    assert {qid: (q.text, dict(q.metadata)) for qid, q in QUERIES.items()} == before  # inputs untouched
    assert list(out.results) == list(QUERIES)
    assert [r.status for r in out] == ["rewritten", "rewritten", "unchanged", "unchanged", "rewritten"]
    texts = out.texts()
    assert texts["q1"] == "do goldfish grow"
    assert texts["q5"] == "how are some sharks warm blooded in cold water"
    assert out.retrieval_queries() == [texts]
    rewritten = out.queries()
    assert rewritten["q1"].text == "do goldfish grow"
    assert rewritten["q1"].metadata == {"segment": "pets", "original_text": "do golddish grow",
                                        "rewrite_status": "rewritten"}
    assert rewritten["q3"].metadata["rewrite_status"] == "unchanged"
    assert out.summary.counts == {"rewritten": 3, "unchanged": 2}
    assert out.summary.backend == "spell" and out.summary.n_queries == 5


def test_fuse_mode_exposes_both_texts(speller):
    out = QueryRewriter(speller, RewriteConfig(mode="fuse")).rewrite(QUERIES)
    original, rewritten = out.retrieval_queries()
    assert original == {qid: q.text for qid, q in QUERIES.items()}
    assert rewritten["q1"] == "do goldfish grow" and rewritten["q3"] == "goldfish tank size"
    assert out.pairs()["q2"] == ("what is wifj vs bluetooth", "what is wifi vs bluetooth")
    assert out.summary.mode == "fuse"
    rows = out.to_jsonl_rows()
    assert rows[1] == {"_id": "q2", "text": "what is wifi vs bluetooth",
                       "metadata": {"segment": "tech", "original_text": "what is wifj vs bluetooth",
                                    "rewrite_status": "rewritten"}}


def test_fused_runs_with_the_pipeline_rrf(speller, sentences):
    from rerank_fix.core.types import Document
    from rerank_fix.fuse.rrf import reciprocal_rank_fusion
    from rerank_fix.retrieve.bm25 import BM25Retriever

    corpus = {f"d{i}": Document(f"d{i}", "", s) for i, s in enumerate(sentences)}
    retriever = BM25Retriever()
    retriever.index(corpus)
    out = QueryRewriter(speller, RewriteConfig(mode="fuse")).rewrite(QUERIES)
    runs = [retriever.search(texts, k=10) for texts in out.retrieval_queries()]
    fused = reciprocal_rank_fusion(runs)
    assert set(fused.results) == set(QUERIES)
    top = fused.ranked_ids("q1", 3)
    assert any("goldfish grow" in corpus[d].text.lower() for d in top)


def test_gates_skip_queries(speller):
    out = QueryRewriter(speller, should_rewrite=MaxTokensGate(4)).rewrite(QUERIES)
    status = {qid: r.status for qid, r in out.results.items()}
    assert status["q1"] == "rewritten" and status["q2"] == "skipped" and status["q5"] == "skipped"
    assert out.texts()["q2"] == QUERIES["q2"].text
    assert out.results["q2"].latency_ms == 0.0
    out = QueryRewriter(speller, selected_ids={"q2"}).rewrite(QUERIES)
    assert [qid for qid, r in out.results.items() if r.status != "skipped"] == ["q2"]
    # selected_ids AND should_rewrite
    out = QueryRewriter(speller, should_rewrite=MaxTokensGate(4), selected_ids={"q1", "q2"}).rewrite(QUERIES)
    assert [qid for qid, r in out.results.items() if r.status != "skipped"] == ["q1"]
    assert out.summary.by_kind["skipped"] == 4


def test_oov_gate_and_combinators(vocab):
    gate = OOVTypoGate(vocab)
    assert gate("do golddish grow") and not gate("goldfish tank size")
    assert not gate("set retention to 14d in the v2 api")  # ids are not typos
    assert OOVTypoGate(vocab, min_oov=2)("wifj and golddish") and not OOVTypoGate(vocab, min_oov=2)("golddish")
    assert not OOVTypoGate(vocab, known_words={"golddish"})("golddish")
    short_or_typo = AnyGate([MaxTokensGate(2), gate])
    short_and_typo = AllGate([MaxTokensGate(3), gate])
    assert short_or_typo("goldfish tank") and short_or_typo("how are some sharks wark blooded")
    assert short_and_typo("do golddish grow") and not short_and_typo("how are some sharks wark blooded")
    assert SelectedIdsGate(["q1"])(QUERIES["q1"]) and not SelectedIdsGate(["q1"])(QUERIES["q2"])
    with pytest.raises(TypeError):
        SelectedIdsGate(["q1"])("plain text")


def test_evaluator_stratifiers_compose_as_gates(speller, sentences):
    from rerank_fix.core.types import Document

    corpus = {f"d{i}": Document(f"d{i}", "", s) for i, s in enumerate(sentences)}
    typo_strata = TypoStratifier.from_corpus(corpus, min_share=0.2, min_term_frequency=1)
    labels = typo_strata.assign(QUERIES)
    gate = StratumGate(typo_strata, {"typo-heavy"})
    out = QueryRewriter(speller, should_rewrite=gate).rewrite(QUERIES)
    attempted = {qid for qid, r in out.results.items() if r.status != "skipped"}
    assert attempted == {qid for qid, label in labels.items() if label == "typo-heavy"}
    assert "q1" in attempted and "q3" not in attempted
    length_gate = StratumGate(QueryLengthStratifier((4, 9)), {"len ≤4"})
    assert length_gate(QUERIES["q1"]) and not length_gate(QUERIES["q5"])


def test_build_gate_from_config(vocab):
    assert build_gate(RewriteConfig()) is None
    assert isinstance(build_gate(RewriteConfig.model_validate({"gate": {"max_tokens": 3}})), MaxTokensGate)
    both = build_gate(RewriteConfig.model_validate({"gate": {"max_tokens": 3, "oov_typo": True}}), vocab)
    assert isinstance(both, AnyGate)
    both_all = build_gate(RewriteConfig.model_validate({"gate": {"max_tokens": 3, "oov_typo": True,
                                                                  "combine": "all"}}), vocab)
    assert isinstance(both_all, AllGate)
    assert not both_all("how are some sharks wark blooded") and both("how are some sharks wark blooded")
    # Common English words absent from the small corpus are not typos for the built gate.
    assert vocab.count("what") == 0
    assert not build_gate(RewriteConfig.model_validate({"gate": {"oov_typo": True}}), vocab)("what is wifi")
    with pytest.raises(ConfigError, match="vocabulary"):
        build_gate(RewriteConfig.model_validate({"gate": {"oov_typo": True}}))


def _fixing_model(messages):
    query = messages[-1]["content"].removeprefix("Query: ")
    if "explode" in query:
        raise RuntimeError("model crashed")
    if "ramble" in query:
        return "golddish facts: " + "this query is about many things. " * 10
    if "nothing" in query:
        return "   "
    if "number" in query:
        return 42
    return "Rewritten query: " + query.replace("golddish", "goldfish").replace("wifj", "wifi")


def test_callable_backend_with_every_outcome():
    queries = {"a": "do golddish grow", "b": "explode golddish", "c": "ramble golddish", "d": "nothing here",
               "e": "number golddish", "f": "goldfish tank", "g": "what is wifj"}
    out = QueryRewriter(CallableClient(_fixing_model)).rewrite(queries)
    assert {qid: r.status for qid, r in out.results.items()} == {
        "a": "rewritten", "b": "fallback:callable_error", "c": "rejected:too_long",
        "d": "fallback:empty_response", "e": "fallback:malformed_response", "f": "unchanged", "g": "rewritten"}
    assert out.texts() == {**queries, "a": "do goldfish grow", "g": "what is wifi"}
    assert out.results["c"].candidate.startswith("golddish facts: this query")
    summary = out.summary
    assert summary.by_kind == {"rewritten": 2, "unchanged": 1, "rejected": 1, "fallback": 3, "skipped": 0}
    assert sum(summary.counts.values()) == len(queries)


def test_prompt_reaches_the_model_with_domain_hint():
    seen = []

    def model(messages):
        seen.append(messages)
        return messages[-1]["content"].removeprefix("Query: ")

    config = RewriteConfig.model_validate({"domain_hint": "aquarium care pages"})
    QueryRewriter(CallableClient(model), config).rewrite({"q": "do golddish grow"})
    messages = seen[0]
    assert messages[0]["role"] == "system" and "aquarium care pages" in messages[0]["content"]
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]  # one worked example
    assert messages[-1] == {"role": "user", "content": "Query: do golddish grow"}


def test_backend_that_raises_loses_nothing():
    class Broken:
        name = "broken"

        def rewrite_batch(self, queries, progress=None):
            raise ValueError("bug in a custom backend")

    out = QueryRewriter(Broken()).rewrite({"a": "one", "b": "two"})
    assert out.texts() == {"a": "one", "b": "two"}
    assert out.summary.counts == {"fallback:backend_error": 2}


def test_build_rewriter_from_config(sentences):
    from rerank_fix.core.types import Document

    corpus = {f"d{i}": Document(f"d{i}", "", s) for i, s in enumerate(sentences)}
    rewriter = build_rewriter(RewriteConfig(), corpus=corpus)
    assert isinstance(rewriter.backend, SpellRewriter)
    assert rewriter.rewrite({"q": "do golddish grow"}).texts() == {"q": "do goldfish grow"}
    cfg = RewriteConfig.model_validate({"backend": "callable", "callable": {"target": "builtins:str"}})
    rewriter = build_rewriter(cfg, should_rewrite=MaxTokensGate(2))
    assert isinstance(rewriter.backend, LLMRewriter)
    with pytest.raises(ConfigError, match="corpus"):
        build_rewriter(RewriteConfig())


def test_load_callable_errors():
    assert load_callable("math:sqrt")(4) == 2.0
    with pytest.raises(ConfigError, match="package.module:function"):
        load_callable("no_colon")
    with pytest.raises(ConfigError, match="cannot import"):
        load_callable("no_such_module_xyz:fn")
    with pytest.raises(ConfigError, match="no attribute"):
        load_callable("math:no_such_fn")
    with pytest.raises(ConfigError, match="not callable"):
        load_callable("math:pi")


def test_accepts_plain_strings_and_query_lists(speller):
    out = QueryRewriter(speller).rewrite([Query("x", "do golddish grow")])
    assert out.texts() == {"x": "do goldfish grow"}
    with pytest.raises(ConfigError):
        QueryRewriter(speller).rewrite({"x": 3})


def test_summary_percentiles():
    results = [RewriteResult(str(i), "a", "a", "unchanged", float(i)) for i in range(1, 101)]
    results.append(RewriteResult("s", "a", "a", "skipped", 0.0))
    summary = RewriteSummary.from_results(results, backend="x")
    assert summary.latency_ms_p50 == pytest.approx(50.5)
    assert summary.latency_ms_p95 == pytest.approx(95.05)
    assert math.isnan(percentile([], 50))
    assert summary.to_dict()["counts"] == {"unchanged": 100, "skipped": 1}
    empty = RewriteSummary.from_results([RewriteResult("s", "a", "a", "skipped")], backend="x").to_dict()
    assert empty["latency_ms_p50"] is None
