"""Cleaning model answers and rejecting unfit rewrites."""
from __future__ import annotations

import pytest

from rerank_fix.rewrite.sanitize import (
    edit_distance,
    fuzzy_equal,
    rejection_reason,
    same_query,
    sanitize,
    shares_tokens,
)


@pytest.mark.parametrize("answer,expected", [
    ("do goldfish grow", "do goldfish grow"),
    ('"do goldfish grow"', "do goldfish grow"),
    ("'do goldfish grow'", "do goldfish grow"),
    ("\u201cdo goldfish grow\u201d", "do goldfish grow"),
    ("`do goldfish grow`", "do goldfish grow"),
    ('"do goldfish grow', "do goldfish grow"),  # cut off by max_tokens before the closing quote
    ("Rewritten query: do goldfish grow", "do goldfish grow"),
    ('Rewritten Query: "do goldfish grow"', "do goldfish grow"),
    ("Corrected query - do goldfish grow", "do goldfish grow"),
    ("Query: do goldfish grow", "do goldfish grow"),
    ("**Corrected query:** do goldfish grow", "do goldfish grow"),
    ("Sure! Here is the rewritten query:\n\n\"do goldfish grow\"\n\nI fixed the typo in 'golddish'.",
     "do goldfish grow"),
    ("Here's the corrected query: do goldfish grow", "do goldfish grow"),
    ("The corrected query is: do goldfish grow", "do goldfish grow"),
    ("```\ndo goldfish grow\n```", "do goldfish grow"),
    ("- do goldfish grow", "do goldfish grow"),
    ("1. do goldfish grow\n2. goldfish growth", "do goldfish grow"),
    ("<think>The user misspelled goldfish.</think>\ndo goldfish grow", "do goldfish grow"),
    ("The user misspelled goldfish.</think>\n\ndo goldfish grow", "do goldfish grow"),
    ("  do   goldfish\tgrow  ", "do goldfish grow"),
    ("query-based retrieval models", "query-based retrieval models"),
    ("what is a python __init__ method", "what is a python __init__ method"),
    ("Sure, here you go:", ""),
    ("", ""),
    ("   \n\n  ", ""),
])
def test_sanitize(answer, expected):
    assert sanitize(answer) == expected


@pytest.mark.parametrize("a,b,d", [("soical", "social", 1), ("goldfish", "golddish", 1), ("abc", "abc", 0),
                                   ("volunterilay", "voluntarily", 2), ("", "abc", 3),
                                   ("ca", "abc", 3)])  # OSA: no edit of a transposed pair, unlike full Damerau
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d
    assert edit_distance(a, b, limit=0) == (0 if d == 0 else 1)


def test_fuzzy_equal_allows_typos_and_inflections():
    assert fuzzy_equal("jwmaica", "jamaica")
    assert fuzzy_equal("grow", "growth")  # shared stem
    assert fuzzy_equal("pneumoohila", "pneumophila")
    assert not fuzzy_equal("cat", "dog")
    assert not fuzzy_equal("rn", "bsn")


def test_overlap_ignores_stopwords_and_accents():
    assert shares_tokens("do golddish grow", "how big do goldfish get")
    assert not shares_tokens("do golddish grow", "what is the weather in paris")
    assert shares_tokens("café opening hours", "cafe hours")
    assert shares_tokens("the of", "the")  # only stopwords on one side: they are all there is to compare


@pytest.mark.parametrize("candidate,reason", [
    ("", "empty"),
    ("?!", "empty"),
    ("goldfish " * 20, "too_long"),
    ("I cannot help with that request", "no_overlap"),
    ("do goldfish grow", None),
    ("how large do goldfish grow in a pond", None),
])
def test_rejection_reason(candidate, reason):
    assert rejection_reason("do golddish grow", candidate) == reason


def test_rejection_limits_are_configurable():
    long = "do goldfish grow " + "in ponds " * 8
    assert rejection_reason("do golddish grow", long) == "too_long"
    assert rejection_reason("do golddish grow", long, max_length_ratio=10) is None
    assert rejection_reason("do golddish grow", "weather in paris", require_overlap=False) is None


def test_same_query_ignores_case_and_punctuation():
    assert same_query("Do goldfish grow?", "do goldfish grow")
    assert not same_query("do golddish grow", "do goldfish grow")
