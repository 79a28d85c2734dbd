"""Uncertainty and significance: bootstrap CIs, a paired randomization test, and Holm's correction."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% (by default) bootstrap confidence interval and sample size."""

    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high, "n": self.n}


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0) -> Estimate:
    """Percentile bootstrap CI of the mean (scipy), robust to tiny and constant samples."""
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(data.mean())
    if n == 1 or np.all(data == data[0]):
        # No variation to resample; the interval collapses (n=1 says nothing about spread).
        return Estimate(mean, mean if n > 1 else float("nan"), mean if n > 1 else float("nan"), n)
    from scipy import stats

    result = stats.bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method="percentile", vectorized=True, random_state=np.random.default_rng(seed))
    return Estimate(mean, float(result.confidence_interval.low), float(result.confidence_interval.high), n)


def paired_test(treatment: Sequence[float], baseline: Sequence[float], n_resamples: int = 10000,
                seed: int = 0) -> float:
    """Two-sided paired randomization (sign-flip) test of the mean difference; returns the p-value.

    The standard test for comparing IR systems on the same queries (Smucker, Allan & Carterette, 2007).
    """
    a = np.asarray(treatment, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired_test needs the two systems scored on the same queries")
    diff = a - b
    if len(diff) < 2:
        return float("nan")  # one query cannot show a systematic difference
    if np.allclose(diff, 0):
        return 1.0
    from scipy import stats

    result = stats.permutation_test((diff,), np.mean, permutation_type="samples", vectorized=True,
                                    n_resamples=n_resamples, alternative="two-sided",
                                    random_state=np.random.default_rng(seed))
    return float(min(1.0, result.pvalue))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (scipy has only FDR control). NaNs pass through untouched."""
    p = np.asarray(pvalues, dtype=float)
    valid = np.flatnonzero(~np.isnan(p))
    adjusted = p.copy()
    m = len(valid)
    if m == 0:
        return adjusted.tolist()
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()
