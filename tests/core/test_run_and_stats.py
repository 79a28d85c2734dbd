from __future__ import annotations

import numpy as np
import pytest

from rerank_fix.errors import DataError
from rerank_fix.evaluate.stats import bootstrap_ci, holm, paired_test
from rerank_fix.core.run import Run


def test_trec_round_trip(tmp_path):
    run = Run.from_scores("my run", {"q1": {"a": 0.5, "b": 1.25, "c": 1.25}, "q2": {"x": -3.0}})
    path = run.to_trec(tmp_path / "r.trec")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 c 1 1.25 my_run"  # ties: descending doc id, as trec_eval does
    back = Run.from_trec(path)
    assert back.results == run.results and back.name == "my_run"


def test_trec_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.trec"
    path.write_text("q1 Q0 a 1 0.5 r\nq1 Q0 b 2 r\n")
    with pytest.raises(DataError, match=r"bad\.trec:2: a TREC run line has 6 fields"):
        Run.from_trec(path)


def test_run_does_not_mutate_input():
    scores = {"q": {"b": 1.0, "a": 2.0}}
    Run.from_scores("r", scores).top(1)
    assert scores == {"q": {"b": 1.0, "a": 2.0}}


def test_bootstrap_ci_covers_mean_and_is_reproducible():
    values = np.random.default_rng(1).random(200)
    first, second = bootstrap_ci(values, seed=3), bootstrap_ci(values, seed=3)
    assert first == second
    assert first.low < values.mean() < first.high and first.n == 200
    assert bootstrap_ci([0.5] * 10).low == 0.5


def test_paired_test_detects_shift_and_not_noise():
    rng = np.random.default_rng(0)
    base = rng.random(100)
    assert paired_test(base + 0.1, base) < 0.001
    assert paired_test(base + rng.normal(0, 0.01, 100), base) > 0.01
    assert paired_test(base, base) == 1.0
    assert np.isnan(paired_test([0.5], [0.1])) and np.isnan(paired_test([], []))


def test_holm_matches_definition():
    # statsmodels' multipletests(method="holm") gives these for [0.01, 0.04, 0.03, 0.005]
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm([float("nan"), 0.2])[0])
