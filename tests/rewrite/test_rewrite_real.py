"""Spell rewriting on MS MARCO DL19 clean vs ten synthetic-typo versions of the same 43 queries.

Run with ``make test-real`` (or ``pytest -m real tests/rewrite -s`` to see the figures).
"""
from __future__ import annotations

import statistics

import pytest
from rewrite_helpers import DL19

from rerank_fix.rewrite.measure import changed_share, typo_correction_report

pytestmark = pytest.mark.real

TYPO_FILES = [f"queries.typo{i}.jsonl" for i in range(1, 11)]


@pytest.fixture(scope="module")
def dl19():
    if not (DL19 / "corpus.jsonl").is_file():
        pytest.skip(f"real data set msmarco-dl19-subset not found at {DL19} (see ../shared/data/README.md)")
    from rerank_fix.data import load_eval_set

    clean = load_eval_set(DL19, queries_file="queries.dl2019-clean.jsonl")
    typo_sets = {name: load_eval_set(DL19, queries_file=name).query_texts for name in TYPO_FILES}
    return clean, typo_sets


@pytest.fixture(scope="module")
def rewriter(dl19):
    from rerank_fix.rewrite.factory import build_rewriter

    clean, _ = dl19
    return build_rewriter(corpus=clean.corpus)


def test_spell_fixes_typo_queries_and_leaves_clean_ones(dl19, rewriter):
    clean, typo_sets = dl19
    clean_texts = clean.query_texts
    clean_out = rewriter.rewrite(clean.queries)
    n_changed, n_clean = changed_share(clean_texts, clean_out.texts())
    rows = []
    for name, typo in typo_sets.items():
        assert set(typo) == set(clean_texts)  # the same 43 ids in every version
        out = rewriter.rewrite(typo)
        assert list(out.results) == list(typo)  # no query lost
        report = typo_correction_report(clean_texts, typo, out.texts())
        rows.append((name, report))
    print(f"\nclean queries changed: {n_changed}/{n_clean}: "
          + "; ".join(f"{r.original!r} -> {r.rewritten!r}" for r in clean_out if r.changed))
    print(f"{'file':<22}{'typo tokens':>12}{'corrected':>10}{'share':>8}{'damaged':>9}{'queries fixed':>15}")
    for name, r in rows:
        print(f"{name:<22}{r.n_typo_tokens:>12}{r.n_corrected:>10}{r.corrected_share:>8.3f}{r.n_damaged:>9}"
              f"{f'{r.n_queries_fixed}/{r.n_queries_with_typos}':>15}")
    total = sum(r.n_typo_tokens for _, r in rows)
    corrected = sum(r.n_corrected for _, r in rows)
    shares = [r.corrected_share for _, r in rows]
    print(f"all: {corrected}/{total} = {corrected / total:.3f} (per file mean {statistics.mean(shares):.3f} "
          f"± {statistics.stdev(shares):.3f})")
    assert corrected / total >= 0.85
    assert min(shares) >= 0.75
    # Collateral damage: tokens already right in the typo text that the rewrite changed.
    assert sum(r.n_damaged for _, r in rows) <= 0.05 * total
    assert n_changed <= 3


def test_spell_rewrite_recovers_bm25_quality(dl19, rewriter):
    from rerank_fix.evaluate.metrics import per_query
    from rerank_fix.retrieve.bm25 import BM25Retriever

    clean, typo_sets = dl19
    bm25 = BM25Retriever()
    bm25.index(clean.corpus)

    def ndcg(texts):
        scores = per_query(bm25.search(texts, k=100), clean.qrels, metrics=("ndcg@10",))["ndcg@10"]
        return statistics.mean(scores.values())

    clean_score = ndcg(clean.query_texts)
    typo_scores, fixed_scores = [], []
    for typo in typo_sets.values():
        typo_scores.append(ndcg(typo))
        fixed_scores.append(ndcg(rewriter.rewrite(typo).texts()))
    typo_mean, fixed_mean = statistics.mean(typo_scores), statistics.mean(fixed_scores)
    closed = (fixed_mean - typo_mean) / (clean_score - typo_mean)
    print(f"\nBM25 nDCG@10: clean {clean_score:.3f}; typo {typo_mean:.3f} ± {statistics.stdev(typo_scores):.3f}; "
          f"typo + spell rewrite {fixed_mean:.3f} ± {statistics.stdev(fixed_scores):.3f}; gap closed {closed:.0%}")
    assert clean_score > typo_mean
    assert fixed_mean > typo_mean
    assert closed >= 0.5
    assert sum(f > t for f, t in zip(fixed_scores, typo_scores)) >= 8  # better on most typo versions
