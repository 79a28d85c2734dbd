from __future__ import annotations

import random
import re

import pytest

from rerank_fix.mine.typos import make_typo, typo_variants

QUERY = "what causes elevated blood pressure in pregnant women"


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_rate_zero_is_identity_and_bad_rate_is_refused():
    assert make_typo(QUERY, 0.0, random.Random(0)) == QUERY
    with pytest.raises(ValueError, match="between 0 and 1"):
        make_typo(QUERY, 1.5, random.Random(0))


def test_deterministic_for_a_seed_and_varies_across_seeds():
    assert make_typo(QUERY, 0.1, random.Random(7)) == make_typo(QUERY, 0.1, random.Random(7))
    outputs = {make_typo(QUERY, 0.1, random.Random(seed)) for seed in range(20)}
    assert len(outputs) > 10


def test_always_at_least_one_edit_and_word_structure_kept():
    for seed in range(200):
        noisy = make_typo(QUERY, 0.02, random.Random(seed))
        assert noisy != QUERY
        words, noisy_words = QUERY.split(), noisy.split()
        # Whitespace is never edited, so words stay aligned; first letters are protected.
        assert len(noisy_words) == len(words)
        assert all(n[0] == w[0] for n, w in zip(noisy_words, words))


def test_ids_digits_acronyms_and_code_are_protected():
    protected = ["p53", "BRCA1", "COVID-19", "v2.1", "IL-6", "mRNA", "TNF", "getUserName", "api_key",
                 "config.yaml", "https://x.io/a", "user@mail.com", "of", "an"]
    text = " ".join(protected) + " suppression"
    for seed in range(100):
        noisy = make_typo(text, 0.5, random.Random(seed)).split()
        assert noisy[:len(protected)] == protected
        assert noisy[-1] != "suppression"  # the one editable word always gets the edit
    assert make_typo("p53 BRCA1 42", 0.5, random.Random(0)) == "p53 BRCA1 42"


def test_punctuation_around_words_stays_in_place():
    for seed in range(50):
        noisy = make_typo("(treatment), cancer?", 0.3, random.Random(seed))
        assert noisy.startswith("(t") and re.search(r"\), c", noisy) and noisy.endswith("?")


def _edit_kinds(clean: str, noisy: str) -> set[str]:
    kinds = set()
    for w, n in zip(clean.split(), noisy.split()):
        if w == n:
            continue
        if len(n) == len(w):
            diff = [i for i in range(len(w)) if w[i] != n[i]]
            if len(diff) == 2 and w[diff[0]] == n[diff[1]] and w[diff[1]] == n[diff[0]]:
                kinds.add("swap")
            elif len(diff) == 1:
                kinds.add("substitute")
        elif len(n) == len(w) - 1:
            kinds.add("delete")
        elif len(n) == len(w) + 1:
            kinds.add("insert")
        elif len(n) < len(w) and n == "".join(c for j, c in enumerate(w) if j == 0 or c not in "aeiou"):
            kinds.add("drop_vowels")
    return kinds


def test_all_edit_kinds_occur():
    kinds: set[str] = set()
    for seed in range(400):
        kinds |= _edit_kinds(QUERY, make_typo(QUERY, 0.03, random.Random(seed)))
    assert kinds == {"swap", "substitute", "delete", "insert", "drop_vowels"}


def test_substitutions_hit_a_neighbouring_key_and_keep_case():
    from rerank_fix.mine.typos import _NEIGHBOURS, _edit_letter

    rng = random.Random(0)
    for letter, neighbours in _NEIGHBOURS.items():
        for ch in (letter, letter.upper()):
            chars = ["x", ch]
            _edit_letter(chars, 1, "neighbour", rng)
            assert chars[1].lower() in neighbours and chars[1].isupper() == ch.isupper()


def test_edit_rate_tracks_the_requested_rate():
    letters = sum(len(w) - 1 for w in QUERY.split() if len(w) >= 3)  # editable positions
    means = []
    for rate in (0.05, 0.2):
        dists = [_levenshtein(QUERY, make_typo(QUERY, rate, random.Random(s))) for s in range(300)]
        means.append(sum(dists) / len(dists) / letters)
    low, high = means
    assert high > 2 * low  # 4x the rate gives clearly more edits
    assert 0.5 * 0.2 < high < 2 * 0.2


def test_typo_variants_ids_and_independence():
    queries = {"q1": "vitamin deficiency symptoms", "q2": "p53 BRCA1", "q3": "statin muscle pain"}
    rows = list(typo_variants(queries, 0.1, copies=2, seed=3))
    ids = [r[0] for r in rows]
    assert "q2#typo1" not in ids  # nothing editable: no copy
    assert {"q1#typo1", "q1#typo2", "q3#typo1", "q3#typo2"} <= set(ids)
    for new_id, source, text in rows:
        assert new_id.startswith(source + "#typo") and text != queries[source]
    alone = list(typo_variants({"q3": queries["q3"]}, 0.1, copies=2, seed=3))
    assert alone == [r for r in rows if r[1] == "q3"]


def test_the_finetune_augmenter_uses_this_model():
    augment = pytest.importorskip("rerank_fix.finetune.augment")
    fn, where = augment.typo_function()
    assert fn is make_typo and where == "rerank_fix.mine.typos.make_typo"
