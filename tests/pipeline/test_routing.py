"""Routing policies: chosen on training queries only, conservative, saved as JSON and applied at query time."""
from __future__ import annotations

import json
import random

import pytest

from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.strata import MetadataStratifier, QueryLengthStratifier, TypoStratifier
from rerank_fix.pipeline.routing import (RoutingPolicy, build_stratifier, cross_validated_routing, fit_policy,
                                         stratifier_config)
from rerank_fix.pipeline.tuning import make_folds


def synthetic(n: int = 120, seed: int = 0):
    """Option ``rerank`` helps short queries a lot, hurts long ones; ``other`` is noise around the fallback."""
    rng = random.Random(seed)
    qids = [f"q{i}" for i in range(n)]
    labels = {q: ("short" if i % 2 else "long") for i, q in enumerate(qids)}
    base = {q: rng.uniform(0.3, 0.7) for q in qids}
    rerank = {q: min(1.0, base[q] + (0.25 if labels[q] == "short" else -0.2) + rng.gauss(0, 0.05)) for q in qids}
    other = {q: base[q] + rng.gauss(0, 0.02) for q in qids}
    scores = {"dense": base, "rerank": rerank, "other": other}
    return qids, labels, scores


CONFIGS = {"len": {"type": "metadata", "field": "len", "dimension": "len"}}


def test_policy_switches_only_where_significantly_better():
    qids, labels, scores = synthetic()
    policy = fit_policy(scores, {"len": labels}, CONFIGS, qids, ["dense", "rerank", "other"])
    assert policy.dimension == "len"
    assert policy.choices == {"short": "rerank", "long": "dense"}
    assert policy.train_gain > 0.1
    short = next(e for e in policy.evidence if e.stratum == "short")
    assert short.p_holm["rerank"] < 0.05 and short.deltas["rerank"] > 0.2
    assert "len: short -> rerank; else dense" == policy.describe()


def test_no_evidence_keeps_fallback_everywhere():
    qids, labels, scores = synthetic()
    policy = fit_policy({"dense": scores["dense"], "other": scores["other"]}, {"len": labels}, CONFIGS, qids,
                        ["dense", "other"])
    assert not policy.switched
    assert policy.describe().startswith("always dense")


def test_small_strata_never_switch():
    qids, labels, scores = synthetic(n=16)
    policy = fit_policy(scores, {"len": labels}, CONFIGS, qids, ["dense", "rerank"], min_stratum_size=10)
    assert not policy.switched


def test_cross_validation_ignores_held_out_scores():
    qids, labels, scores = synthetic()
    folds = make_folds(qids, 4, seed=1)
    outcome = cross_validated_routing(scores, {"len": labels}, CONFIGS, folds, ["dense", "rerank"], "ndcg@10",
                                      0.05, 10)
    # Make rerank look terrible on fold 0 only: fold 0's policy is fitted without it, so it cannot change.
    poisoned = {k: dict(v) for k, v in scores.items()}
    for q in folds[0]:
        poisoned["rerank"][q] = 0.0
    again = cross_validated_routing(poisoned, {"len": labels}, CONFIGS, folds, ["dense", "rerank"], "ndcg@10",
                                    0.05, 10)
    assert again.fold_policies[0].choices == outcome.fold_policies[0].choices
    assert {q: again.choices[q] for q in folds[0]} == {q: outcome.choices[q] for q in folds[0]}
    for q in qids:
        assert outcome.choices[q] == ("rerank" if labels[q] == "short" else "dense")


def test_policy_json_round_trip_and_query_time_routing(tmp_path):
    demo = load_eval_set("demo", "test")
    length = QueryLengthStratifier([4, 9])
    typo = TypoStratifier.from_corpus(demo.corpus)
    for stratifier in (length, typo, MetadataStratifier("segment")):
        config = stratifier_config(stratifier)
        rebuilt = build_stratifier(json.loads(json.dumps(config)), demo.corpus)
        assert rebuilt.assign(demo.queries) == stratifier.assign(demo.queries)
    labels = typo.assign(demo.queries)
    policy = RoutingPolicy("typo", stratifier_config(typo), {"typo-heavy": "spell+dense", "clean": "dense"}, "dense",
                           ["dense", "spell+dense"])
    path = policy.save(tmp_path / "policy.json")
    loaded = RoutingPolicy.load(path)
    assert loaded.as_dict() == policy.as_dict()
    routed = loaded.route(demo.queries, demo.corpus)
    assert routed == {q: ("spell+dense" if labels[q] == "typo-heavy" else "dense") for q in demo.queries}
    assert set(routed.values()) == {"dense", "spell+dense"}


def test_broken_policy_files(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p.json:1: not valid JSON"):
        RoutingPolicy.load(path)
    path.write_text(json.dumps({"dimension": "length"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="missing stratifier, choices, fallback, options"):
        RoutingPolicy.load(path)
    with pytest.raises(ConfigError, match="not found"):
        RoutingPolicy.load(tmp_path / "absent.json")
