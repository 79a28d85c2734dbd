"""Typo-correction figures against clean versions of the same queries."""
from __future__ import annotations

from rerank_fix.rewrite.measure import changed_share, typo_correction_report


def test_positional_alignment_counts_fixes_and_damage():
    clean = {"a": "do goldfish grow", "b": "what is wifi vs bluetooth", "c": "causes of military suicide"}
    typo = {"a": "do golddish grow", "b": "what is wifj vs blueotooth", "c": "causes of military suicide"}
    rewritten = {"a": "do goldfish grow", "b": "what is wifi vs bluetooth", "c": "cause of military suicide"}
    r = typo_correction_report(clean, typo, rewritten)
    assert (r.n_queries, r.n_typo_tokens, r.n_corrected, r.n_damaged) == (3, 3, 3, 1)
    assert (r.n_queries_with_typos, r.n_queries_fixed, r.n_unaligned) == (2, 2, 0)
    assert r.corrected_share == 1.0
    assert r.to_dict()["corrected_share"] == 1.0


def test_unaligned_rewrites_use_bag_of_words():
    clean = {"a": "do goldfish grow"}
    typo = {"a": "do golddish grow"}
    r = typo_correction_report(clean, typo, {"a": "how big do goldfish grow in ponds"})
    assert (r.n_typo_tokens, r.n_corrected, r.n_damaged, r.n_unaligned) == (1, 1, 0, 1)
    r = typo_correction_report(clean, typo, {"a": "golddish size"})
    assert (r.n_typo_tokens, r.n_corrected, r.n_damaged) == (1, 0, 2)


def test_only_shared_ids_are_compared():
    r = typo_correction_report({"a": "x y", "b": "z"}, {"a": "x q"}, {"a": "x y", "c": "w"})
    assert r.n_queries == 1 and r.n_corrected == 1


def test_changed_share_ignores_case_and_punctuation():
    assert changed_share({"a": "Define visceral?", "b": "x"}, {"a": "define visceral", "b": "y"}) == (1, 2)
