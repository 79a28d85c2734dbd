from __future__ import annotations

import pytest

from rerank_fix.mine.dedup import DuplicateChecker, jaccard, normalized_text, shingles, text_hash

POS = ("Vitamin D supplementation reduced the risk of fractures in elderly women by 20 percent over three "
       "years, according to a randomized controlled trial of 3,000 participants.")


def test_normalisation_ignores_case_spacing_and_punctuation():
    assert normalized_text("  The  CAT,\n sat!") == "the cat sat"
    assert text_hash(POS) == text_hash(POS.upper().replace(",", " ,  "))
    assert text_hash(POS) != text_hash(POS.replace("20", "30"))


def test_jaccard_of_shingles():
    a, b = shingles("a b c d", 2), shingles("a b c e", 2)
    assert jaccard(a, b) == pytest.approx(2 / 4)
    assert jaccard(a, a) == 1.0
    assert jaccard(frozenset(), frozenset()) == 0.0
    assert shingles("one two", 3) == shingles("two one", 3)  # short texts fall back to single words


def test_checker_flags_exact_and_near_duplicates_only():
    near = POS.replace("three years", "3 years") + " Funded by the NIH."
    texts = {"pos": POS, "exact": "  " + POS.upper().replace(" ", "  ").replace(".", "!"), "near": near,
             "other": "Statin therapy and muscle pain: a cohort study of 10,000 patients."}
    checker = DuplicateChecker(texts.__getitem__, threshold=0.6, shingle_size=3)
    assert 0.6 <= checker.similarity("near", "pos") < 1.0
    assert checker.check("exact", ["pos"]) == "exact_duplicate"
    assert checker.check("near", ["other", "pos"]) == "near_duplicate"
    assert checker.check("other", ["pos"]) is None
    strict = DuplicateChecker(texts.__getitem__, threshold=0.99)
    assert strict.check("near", ["pos"]) is None
    assert strict.check("exact", ["pos"]) == "exact_duplicate"


def test_fingerprint_cache_is_bounded():
    texts = {f"d{i}": f"document number {i} text" for i in range(50)}
    checker = DuplicateChecker(texts.__getitem__, max_cached=10)
    for doc_id in texts:
        checker.check(doc_id, ["d0"])
    assert len(checker._cache) <= 10


def test_bad_threshold_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        DuplicateChecker(str, threshold=0)
