"""How well a rewriter undoes typos, measured against clean versions of the same queries."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from rerank_fix.rewrite.sanitize import normalize_tokens


@dataclass(frozen=True)
class TypoCorrectionReport:
    """Token-level correction figures for one typo query set.

    Args:
        n_queries: Queries compared (ids present in all three inputs).
        n_typo_tokens: Tokens of the typo text that differ from the clean text.
        n_corrected: Of those, tokens the rewrite turned back into the clean token.
        n_damaged: Tokens that were already right in the typo text but the rewrite changed.
        n_queries_with_typos: Queries whose typo text differs from the clean text.
        n_queries_fixed: Of those, queries whose rewrite equals the clean text (token-wise).
        n_unaligned: Queries compared by bag of words because the token counts differed.

    Example:
        >>> r = typo_correction_report({"q": "do goldfish grow"}, {"q": "do golddish grow"},
        ...                            {"q": "do goldfish grow"})
        >>> r.corrected_share, r.n_damaged
        (1.0, 0)
    """

    n_queries: int
    n_typo_tokens: int
    n_corrected: int
    n_damaged: int
    n_queries_with_typos: int
    n_queries_fixed: int
    n_unaligned: int

    @property
    def corrected_share(self) -> float:
        return self.n_corrected / self.n_typo_tokens if self.n_typo_tokens else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "corrected_share": self.corrected_share}


def typo_correction_report(clean: Mapping[str, str], typo: Mapping[str, str],
                           rewritten: Mapping[str, str]) -> TypoCorrectionReport:
    """Compare rewrites of ``typo`` queries with their ``clean`` versions (same query ids).

    Tokens are aligned by position when clean, typo and rewrite have the same number of tokens (character
    typos and word-for-word corrections keep it); otherwise a typo token counts as corrected when its clean
    token appears in the rewrite.
    """
    ids = [qid for qid in clean if qid in typo and qid in rewritten]
    typo_tokens = corrected = damaged = with_typos = fixed = unaligned = 0
    for qid in ids:
        c, t, r = (normalize_tokens(x) for x in (clean[qid], typo[qid], rewritten[qid]))
        if c != t:
            with_typos += 1
            fixed += r == c
        if len(c) == len(t) == len(r):
            for ct, tt, rt in zip(c, t, r):
                if ct != tt:
                    typo_tokens += 1
                    corrected += rt == ct
                elif rt != ct:
                    damaged += 1
            continue
        unaligned += 1
        in_rewrite = Counter(r)
        typo_bag = Counter(t)
        for token, n in (Counter(c) - typo_bag).items():
            typo_tokens += n
            corrected += min(n, in_rewrite[token])
        damaged += sum(((typo_bag & Counter(c)) - in_rewrite).values())
    return TypoCorrectionReport(len(ids), typo_tokens, corrected, damaged, with_typos, fixed, unaligned)


def changed_share(original: Mapping[str, str], rewritten: Mapping[str, str]) -> tuple[int, int]:
    """``(changed, total)``: how many queries a rewrite changed (token-wise, ignoring case and punctuation)."""
    ids = [qid for qid in original if qid in rewritten]
    changed = sum(normalize_tokens(original[q]) != normalize_tokens(rewritten[q]) for q in ids)
    return changed, len(ids)
