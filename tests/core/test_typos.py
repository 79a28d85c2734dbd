"""The one typo model (rerank_fix/core/typos.py): making typos, the keyboard, words, and judging them."""
from __future__ import annotations

import random
import re

import pytest

from rerank_fix.core.typos import make_typo, typo_variants
from tests.conftest import edit_distance as _levenshtein

QUERY = "what causes elevated blood pressure in pregnant women"


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
    from rerank_fix.core.typos import KEYBOARD_NEIGHBOURS, _edit_letter

    rng = random.Random(0)
    for letter, neighbours in KEYBOARD_NEIGHBOURS.items():
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
    assert fn is make_typo and where == "rerank_fix.core.typos.make_typo"


# --- the rest of the one typo model: keyboard, words, judging, word-level misspelling ---------------


def test_keyboard_neighbours_are_exactly_the_adjacent_keys_of_the_qwerty_grid():
    from rerank_fix.core.typos import _NEIGHBOURS_READING_ORDER, KEYBOARD_NEIGHBOURS, QWERTY_ROWS

    position = {c: (r, i) for r, row in enumerate(QWERTY_ROWS) for i, c in enumerate(row)}
    for key, (r, i) in position.items():
        # Same row: left and right; the row above: same column and one right; below: one left and same column.
        near = {(r, i - 1), (r, i + 1), (r - 1, i), (r - 1, i + 1), (r + 1, i - 1), (r + 1, i)}
        expected = {c for c, p in position.items() if p in near}
        assert set(KEYBOARD_NEIGHBOURS[key]) == expected, key
        assert len(KEYBOARD_NEIGHBOURS[key]) == len(expected)
        reading = _NEIGHBOURS_READING_ORDER[key]
        assert set(reading) == expected and [position[c] for c in reading] == sorted(position[c] for c in reading)


TRICKY_CHUNKS = ["p53", "BRCA1", "COVID-19", "v2.1", "IL-6", "mRNA", "TNF", "getUserName", "api_key", "McDonald", "e-Mail",
                 "config.yaml", "https://x.io/a", "user@mail.com", "of", "an", "AML", "EMAs", "iOS", "a/b", "x@y",
                 "(treatment),", "medicare's", "well-known", "define?", "foo!bar", "*bold*", "_x", "...", "\"quote\"",
                 "naïve", "Straße", "e-mail", "don't", "rock'n'roll", "x=y", "[link](url)", "C++", "Ünïcödé",
                 "Met¹⁴⁹", "Ser³,", "\"\\$\").replace(\"\\\"\","]


def test_generation_never_edits_a_chunk_detection_calls_an_id():
    from rerank_fix.core.typos import editable_word, is_protected_chunk

    for chunk in TRICKY_CHUNKS:
        if is_protected_chunk(chunk):
            assert editable_word(chunk) is None, chunk
    assert editable_word("(treatment),") == ("(", "treatment", "),")
    assert editable_word("well-known") == ("", "well-known", "")
    assert editable_word("e-Mail") is None and not is_protected_chunk("e-Mail")  # a capital inside: not edited


def test_the_judge_separates_unseen_words_from_likely_typos():
    from rerank_fix.core.typos import TypoJudge

    vocab = {"password": 9, "reset": 4, "rare": 1}
    judge = TypoJudge(vocab, known_words={"Hello"}, min_term_frequency=3)
    assert judge.unseen("pasword") and judge.is_typo("pasword") and judge.is_typo("PASWORD")
    assert judge.unseen("zzzzqqq") and not judge.is_typo("zzzzqqq")  # unseen, but near no corpus word
    assert not judge.unseen("hello")
    assert not judge.unseen("ab")  # too short
    assert not judge.unseen("reset") and not judge.is_typo("reset")
    assert [s.term for s in judge.suggestions("rare", 1)] == []  # rarer than min_term_frequency: never offered
    assert TypoJudge(vocab, max_count=1).unseen("rare") and not TypoJudge(vocab).unseen("rare")
    only_long = TypoJudge(vocab, dictionary_filter=lambda t: len(t) > 5)
    assert [s.term for s in only_long.suggestions("resett", 2)] == []
    assert [s.term for s in only_long.suggestions("pasword", 2)] == ["password"]


def test_stratifier_gate_and_speller_judge_a_query_the_same_way():
    from rerank_fix.core.types import Query
    from rerank_fix.evaluate.strata import TypoStratifier
    from rerank_fix.rewrite.gates import OOVTypoGate
    from rerank_fix.rewrite.spell import SpellRewriter
    from rerank_fix.rewrite.vocab import Vocabulary

    texts = ["reset your password from the admin console"] * 3
    vocab = Vocabulary.from_texts(texts)
    stratifier = TypoStratifier(dict(vocab.counts), min_term_frequency=1)
    gate = OOVTypoGate(vocab, known_words={"how"})
    speller = SpellRewriter(vocab)
    typo, clean, ids = "how to reset pasword", "how to reset password", "reset password v2 ww1"
    labels = stratifier.assign({"t": Query("t", typo), "c": Query("c", clean), "i": Query("i", ids)})
    assert labels == {"t": "typo-heavy", "c": "clean", "i": "clean"}
    assert (gate(typo), gate(clean), gate(ids)) == (True, False, False)
    assert speller.correct(typo) == clean and speller.correct(ids) == ids


def test_misspell_changes_one_or_two_long_ascii_words_by_one_edit():
    from rerank_fix.core.typos import misspell

    text = "how do I rotate an API key for the webhook integration"
    changed_counts = set()
    for seed in range(300):
        noisy = misspell(text, random.Random(seed))
        assert misspell(text, random.Random(seed)) == noisy
        pairs = [(w, n) for w, n in zip(text.split(), noisy.split()) if w != n]
        assert len(noisy.split()) == len(text.split()) and 1 <= len(pairs) <= 2
        changed_counts.add(len(pairs))
        for w, n in pairs:
            assert len(w) >= 4 and w.isascii() and n[0] == w[0]
            assert _levenshtein(w, n) <= 2 or n == "".join(c for j, c in enumerate(w) if j == 0 or c not in "aeiou")
    assert changed_counts == {1, 2}
