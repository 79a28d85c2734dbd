from __future__ import annotations

import numpy as np
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
    assert jaccard(shingles(""), shingles("")) == 0.0
    assert np.array_equal(shingles("one two", 3), shingles("two one", 3))  # short texts: single words
    assert not np.array_equal(shingles("a b c", 3), shingles("c b a", 3))  # shingles keep word order
    assert np.all(np.diff(shingles(POS)) > 0)  # sorted and unique


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


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95, 1.0])
@pytest.mark.parametrize("size", [1, 3])
def test_filtered_batch_check_equals_brute_force(threshold, size):
    """The length and prefix filters only skip pairs that could never reach the threshold."""
    import random

    rng = random.Random(size * 100 + int(threshold * 10))
    words = [f"w{i}" for i in range(50)]
    texts = {}
    for i in range(25):
        base = [rng.choice(words) for _ in range(rng.randint(4, 50))]
        texts[f"b{i}"] = " ".join(base)
        for j in range(4):  # variants with a few edits, some only in punctuation
            toks = list(base)
            for _ in range(rng.randint(0, 5)):
                op = rng.random()
                if op < 0.4 and toks:
                    toks[rng.randrange(len(toks))] = rng.choice(words)
                elif op < 0.7:
                    toks.insert(rng.randrange(len(toks) + 1), rng.choice(words))
                elif toks:
                    del toks[rng.randrange(len(toks))]
            texts[f"b{i}v{j}"] = " ".join(toks) + ("!" if j == 0 else "")
    ids = list(texts)
    checker = DuplicateChecker(texts.__getitem__, threshold=threshold, shingle_size=size)
    for pos in ids[::9]:
        got = checker.check_many(ids, [pos])
        for cand, verdict in zip(ids, got):
            (hc, sc), (hp, sp) = checker.fingerprint(cand), checker.fingerprint(pos)
            expected = ("exact_duplicate" if hc == hp else
                        "near_duplicate" if jaccard(sc, sp) >= threshold else None)
            assert verdict == expected, (pos, cand)


def test_ascii_fast_path_tokenizes_like_the_regex():
    import re
    import unicodedata

    from rerank_fix.mine.dedup import normalized_tokens

    for text in ["Hello, World! foo_bar x-y 3.5%", "a\tb\nc  ", "__init__(self)", "It's OK", "TNF-α Straße ﬁne"]:
        assert normalized_tokens(text) == re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
