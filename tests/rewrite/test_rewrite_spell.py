"""Offline spell rewriting on a small real-text corpus (tests/rewrite/data/sentences.txt)."""
from __future__ import annotations

import pytest

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.spell import SpellRewriter, SpellSettings
from rerank_fix.rewrite.vocab import Vocabulary, is_protected_chunk, word_spans


@pytest.fixture(scope="module")
def speller(vocab) -> SpellRewriter:
    return SpellRewriter(vocab)


def test_vocabulary_counts_words_and_pairs(sentences, vocab):
    expected = sum(s.lower().split().count("goldfish") for s in sentences)
    assert vocab.count("goldfish") == expected > 5
    assert vocab.count("GOLDFISH") == expected
    assert vocab.bigram("warm", "blooded") >= 2
    assert "golddish" not in vocab
    assert "14d" not in vocab  # digits split words: the vocabulary holds letter runs only
    assert vocab.count("d") >= 2


def test_vocabulary_from_corpus_matches_from_texts(sentences):
    from rerank_fix.core.types import Document

    corpus = {f"d{i}": Document(f"d{i}", "", s) for i, s in enumerate(sentences)}
    assert Vocabulary.from_corpus(corpus).counts == Vocabulary.from_texts(sentences).counts
    titled = Vocabulary.from_corpus([Document("x", "Goldfish care", "Water changes")])
    assert titled.count("care") == 1 and titled.count("changes") == 1


def test_bigram_table_is_bounded(sentences):
    small = Vocabulary.from_texts(sentences, max_bigrams=50)
    full = Vocabulary.from_texts(sentences)
    assert len(small.bigrams) < len(full.bigrams)
    # Pairs seen more than once survive pruning.
    assert small.bigram("goldfish", "grow") >= 1 or full.bigram("goldfish", "grow") < 2
    assert small.counts == full.counts


@pytest.mark.parametrize("chunk,protected", [
    ("14d", True), ("v2", True), ("ww1", True), ("snake_case", True), ("camelCase", True), ("AML", True),
    ("foo.bar", True), ("a/b", True), ("user@example.com", True), ("_____.", True), ("5432", True),
    ("goldfish", False), ("medicare's", False), ("well-known", False), ("define?", False), ("Goldfish", False),
])
def test_protected_chunks(chunk, protected):
    assert is_protected_chunk(chunk) is protected


def test_word_spans_locate_words():
    text = "Why did the US enter ww1? medicare's plan"
    spans = list(word_spans(text))
    assert [s.text for s in spans] == ["Why", "did", "the", "enter", "medicare", "s", "plan"]
    assert all(text[s.start:s.end] == s.text for s in spans)


@pytest.mark.parametrize("typo,clean", [
    ("do golddish grow", "do goldfish grow"),
    ("what is wifj vs bluetooth", "what is wifi vs bluetooth"),
    ("right plevic pain causes", "right pelvic pain causes"),
    ("what are the soical determinants of health", "what are the social determinants of health"),
    ("how are some sharks wark blooded", "how are some sharks warm blooded"),
    ("types of dysarthria from cerebral panlsy", "types of dysarthria from cerebral palsy"),
    ("how to find the middsegment of a trapezoid", "how to find the midsegment of a trapezoid"),
    ("legionella pneumoohila", "legionella pneumophila"),
    ("what types of food can you cook sous pide", "what types of food can you cook sous vide"),
])
def test_fixes_typos(speller, typo, clean):
    assert speller.correct(typo) == clean


def test_context_picks_the_word_that_fits(speller, vocab):
    # "wark" is one edit from both "warm" and "work"/"park"...; "warm blooded" occurs in the corpus.
    assert vocab.bigram("warm", "blooded") > 0
    assert speller.correct("wark blooded sharks") == "warm blooded sharks"


@pytest.mark.parametrize("query", [
    "set retention to 14d in the v2 api",
    "pcfg parser probability",
    "why did the us enter ww1",
    "AML surveillance analyst",
    "call getUserName from user_service.py",
    "difference between rn and bsn",
    "do goldfish grow",
    "tracheids are part of _____.",
])
def test_leaves_ids_code_and_known_words_alone(speller, query):
    assert speller.correct(query) == query
    assert speller.corrections(query) == []


def test_keeps_case_punctuation_and_spacing(speller):
    assert speller.correct("Golddish  grow?") == "Goldfish  grow?"
    assert speller.correct("  do golddish grow\t") == "  do goldfish grow\t"
    corrections = speller.corrections("do golddish grow")
    assert [(c.original, c.corrected, c.distance) for c in corrections] == [("golddish", "goldfish", 1)]


def test_protected_words_and_min_length(vocab):
    speller = SpellRewriter(vocab, SpellSettings(protected_words=("golddish",)))
    assert speller.correct("do golddish grow") == "do golddish grow"
    # "wif" is too short to correct with min_word_len=4.
    assert SpellRewriter(vocab, SpellSettings(min_word_len=4)).correct("wif and bluetooth") == "wif and bluetooth"


def test_rare_corpus_typo_is_corrected_towards_a_frequent_neighbour():
    texts = ["the definition of a word"] * 40 + ["efinition appears once because a passage was cut"]
    vocab = Vocabulary.from_texts(texts)
    assert vocab.count("efinition") == 1
    assert SpellRewriter(vocab).correct("efinition of goldfish") == "definition of goldfish"
    # With rare_word_max_count=0 every corpus word is trusted.
    assert SpellRewriter(vocab, SpellSettings(rare_word_max_count=0)).correct("efinition") == "efinition"


def test_unknown_word_without_candidates_is_kept(speller):
    assert speller.correct("zzyzx goldfish") == "zzyzx goldfish"


def test_rewrite_batch_outputs(speller):
    outs = speller.rewrite_batch(["do golddish grow", "goldfish"])
    assert [o.text for o in outs] == ["do goldfish grow", "goldfish"]
    assert all(o.ok and o.latency_ms >= 0 for o in outs)


def test_bad_settings():
    with pytest.raises(ConfigError, match="max_edit_distance"):
        SpellSettings(max_edit_distance=5)
    with pytest.raises(ConfigError, match="prefix_length"):
        SpellSettings(max_edit_distance=3, prefix_length=3)


def test_common_english_words_missing_from_a_small_corpus_are_kept(vocab):
    assert vocab.count("what") == 0 and vocab.count("enter") == 0
    with_english = SpellRewriter(vocab)
    corpus_only = SpellRewriter(vocab, SpellSettings(english_known_words=False))
    assert with_english.correct("what is wifj vs bluetooth") == "what is wifi vs bluetooth"
    # Without the English list a small corpus turns "what" into its nearest corpus word.
    assert corpus_only.correct("what is wifj vs bluetooth") != "what is wifi vs bluetooth"
    assert corpus_only.correct("what is wifj vs bluetooth").endswith("wifi vs bluetooth")


def test_rare_english_word_changes_only_with_corpus_context(vocab):
    speller = SpellRewriter(vocab)
    # "vied" is an English word, but "sous vide" occurs often in the corpus: context says it is a typo.
    assert vocab.bigram("sous", "vide") >= 3
    assert speller.correct("cook eggs sous vied") == "cook eggs sous vide"
    # Without that context the real word stays.
    assert speller.correct("they vied for food") == "they vied for food"
    # Very common English words never change, even where a neighbour pair would favour another word.
    assert vocab.bigram("that", "is") >= 3
    assert speller.correct("what is sous vide") == "what is sous vide"


def test_spell_output_is_not_sanitised_like_chat_answers(vocab):
    from rerank_fix.rewrite.stage import QueryRewriter

    queries = {"a": 'query: "golddish" grow', "b": "???", "c": "Rewritten query: golddish"}
    out = QueryRewriter(SpellRewriter(vocab)).rewrite(queries)
    assert out.texts() == {"a": 'query: "goldfish" grow', "b": "???", "c": "Rewritten query: goldfish"}
    assert out.results["b"].status == "unchanged"
