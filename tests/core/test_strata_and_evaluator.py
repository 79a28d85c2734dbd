from __future__ import annotations

import json

import pytest

from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.evaluate.evaluator import HELPS, HURTS, NO_EFFECT, TOO_SMALL, StratifiedEvaluator
from rerank_fix.evaluate.strata import MetadataStratifier, QueryLengthStratifier, TypoStratifier
from rerank_fix.core.run import Run
from tests.conftest import shared_set


def test_length_buckets():
    s = QueryLengthStratifier((4, 9))
    labels = s.assign({"a": Query("a", "one two"), "b": Query("b", "w " * 7), "c": Query("c", "w " * 12)})
    assert labels == {"a": "len ≤4", "b": "len 5–9", "c": "len ≥10"}


def test_typo_detector_on_corpus_vocabulary():
    corpus = {f"d{i}": Document(f"d{i}", text="password reset account billing invoice refund " * 3) for i in range(3)}
    typo = TypoStratifier.from_corpus(corpus)
    assert typo.is_typo("pasword") and typo.is_typo("invocie")
    assert not typo.is_typo("password") and not typo.is_typo("v2") and not typo.is_typo("14d")
    assert typo.assign({"q": Query("q", "reset pasword"), "c": Query("c", "reset password")}) == {
        "q": "typo-heavy", "c": "clean"}


def make_set(n=60):
    corpus = {f"d{i}": Document(f"d{i}", text=f"doc {i}") for i in range(n)}
    queries = {f"q{i}": Query(f"q{i}", "short query" if i % 2 else "a much longer query with many many words",
                              {"segment": "A" if i < n // 2 else "B"}) for i in range(n)}
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(n)}
    return EvalSet("toy", corpus, queries, qrels)


def test_compare_verdicts_per_stratum():
    ds = make_set()
    # Baseline finds everything at rank 2. Treatment: segment A at rank 1 (helps), B at rank 5 (hurts).
    base = Run.from_scores("base", {q: {"x": 2.0, f"d{i}": 1.0} for i, q in enumerate(ds.queries)})
    treat = Run.from_scores("treat", {
        q: ({f"d{i}": 2.0, "x": 1.0} if i < 30 else {**{f"y{j}": 10.0 - j for j in range(4)}, f"d{i}": 1.0})
        for i, q in enumerate(ds.queries)})
    evaluator = StratifiedEvaluator(ds, [MetadataStratifier("segment"), QueryLengthStratifier()], min_stratum_size=20)
    rows = {(c.dimension, c.stratum): c for c in evaluator.compare(treat, base, metrics=["mrr@10"])}
    assert rows[("segment", "A")].verdict == HELPS
    assert rows[("segment", "B")].verdict == HURTS
    assert rows[("segment", "A")].delta.mean == pytest.approx(0.5)
    assert rows[("segment", "B")].delta.mean == pytest.approx(0.2 - 0.5)
    json.dumps([c.as_dict() for c in rows.values()])


def test_small_strata_are_flagged_and_identical_runs_show_no_effect():
    ds = make_set(30)
    base = Run.from_scores("base", {q: {f"d{i}": 1.0} for i, q in enumerate(ds.queries)})
    evaluator = StratifiedEvaluator(ds, [MetadataStratifier("segment")], min_stratum_size=20)
    rows = evaluator.compare(base, base, metrics=["ndcg@10"])
    verdicts = {(c.dimension, c.stratum): c.verdict for c in rows}
    assert verdicts[("all", "all")] == NO_EFFECT
    assert verdicts[("segment", "A")] == TOO_SMALL


def test_headroom_rule():
    ds = make_set(40)
    # Relevant doc at rank 20 for every query: recall@5 = 0, recall@50 = 1.
    run = Run.from_scores("r", {q: {**{f"x{j}": 100.0 - j for j in range(19)}, f"d{i}": 1.0}
                                for i, q in enumerate(ds.queries)})
    evaluator = StratifiedEvaluator(ds, [MetadataStratifier("segment")])
    rooms = evaluator.headroom(evaluator.evaluate(run), threshold=0.25)
    assert all(h.has_room and h.headroom == pytest.approx(1.0) for h in rooms)


@pytest.mark.real
def test_typo_detector_precision_on_dl19():
    from rerank_fix.data import load_eval_set

    root = shared_set("msmarco-dl19-subset")
    clean = load_eval_set(root, "test", "queries.dl2019-clean.jsonl")
    detector = TypoStratifier.from_corpus(clean.corpus)
    flagged_typo = altered = 0
    for i in range(1, 11):
        typo = load_eval_set(root, "test", f"queries.typo{i}.jsonl")
        labels = detector.assign(typo.queries)
        for qid, query in typo.queries.items():
            if query.text != clean.queries[qid].text:
                altered += 1
                flagged_typo += labels[qid] == "typo-heavy"
    flagged_clean = sum(1 for label in detector.assign(clean.queries).values() if label == "typo-heavy")
    # Precision of "typo-heavy" on a mix with as many clean queries as typo queries.
    precision = flagged_typo / (flagged_typo + 10 * flagged_clean)
    recall = flagged_typo / altered
    print(f"typo detector on DL19: precision {precision:.3f}, recall {recall:.3f}, clean flagged {flagged_clean}/43")
    assert precision >= 0.95 and recall >= 0.85


def test_typo_vocabulary_file_round_trip_and_bad_lines(tmp_path):
    from rerank_fix.errors import ConfigError

    typo = TypoStratifier({"password": 9, "reset": 4, "invoice": 4})
    typo.save_vocabulary(tmp_path / "vocabulary.tsv")
    assert (tmp_path / "vocabulary.tsv").read_text().splitlines()[0] == "password\t9"  # most frequent first
    again = TypoStratifier.from_vocabulary_file(tmp_path / "vocabulary.tsv", min_share=0.5)
    assert again.vocabulary == typo.vocabulary and again.min_share == 0.5
    (tmp_path / "bad.tsv").write_text("password\t9\nreset four\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.tsv:2: expected 'term<TAB>count'"):
        TypoStratifier.from_vocabulary_file(tmp_path / "bad.tsv")
    with pytest.raises(ConfigError, match="cannot read the typo stratifier's vocabulary"):
        TypoStratifier.from_vocabulary_file(tmp_path / "missing.tsv")
