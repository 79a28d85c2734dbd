"""Bundle parts without a full fix run: serving actions, the typo vocabulary round trip, loader checks."""
from __future__ import annotations

import json

import pytest
import yaml

from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.strata import TypoStratifier
from rerank_fix.fix.bundle import BUNDLE_FORMAT, check_out_path
from rerank_fix.fix.candidates import second_stage_action, stage_one_summary
from rerank_fix.fix.loader import load_bundle
from rerank_fix.pipeline.routing import RoutingPolicy, stratifier_config


def test_second_stage_actions_follow_the_serving_contract():
    dense = {"stage": "dense", "top_k": 100}
    assert second_stage_action([dense]) == {"action": "keep"}
    assert second_stage_action([dense, {"stage": "rerank", "model": "ce", "depth": 20, "interpolate": None}]) == \
        {"action": "rerank", "reranker": "ce", "depth": 20}
    assert second_stage_action([dense, {"stage": "rerank", "model": "ce", "depth": 50, "interpolate": 0.7}]) == \
        {"action": "blend", "reranker": "ce", "depth": 50, "stage_one_weight": 0.7}
    rrf = {"stage": "rrf", "retrievers": [{"stage": "dense"}, {"stage": "bm25"}], "weights": [1.0, 0.3], "k": 20.0}
    spell = {"stage": "rewrite", "mode": "fuse", "config": {"backend": "spell"}}
    assert stage_one_summary([spell, rrf]) == "spell-correct (fuse) + rrf(dense 1, bm25 0.3; k=20)"


@pytest.fixture(scope="module")
def demo():
    return load_eval_set("demo", "test")


def _typo_bundle(path, demo):
    typo = TypoStratifier.from_corpus(demo.corpus)
    config = dict(stratifier_config(typo))
    typo.save_vocabulary(path / "vocabulary.tsv")
    config["vocabulary_file"] = "vocabulary.tsv"
    policy = RoutingPolicy("typo", stratifier_config(typo), {"typo-heavy": "spell+bm25"}, "bm25",
                           ["bm25", "spell+bm25"])
    policy.save(path / "policy.json")
    pipelines = {"bm25": {"stages": [{"stage": "bm25", "top_k": 20}]},
                 "spell+bm25": {"stages": [{"stage": "rewrite", "mode": "fuse", "config": {"backend": "spell"}},
                                           {"stage": "bm25", "top_k": 20}]}}
    (path / "bundle.yaml").write_text(yaml.safe_dump({"format": BUNDLE_FORMAT, "stratifier": config,
                                                      "pipelines": pipelines, "rerankers": {}}), encoding="utf-8")
    return typo


def test_typo_routing_rebuilt_from_the_bundled_vocabulary(tmp_path, demo):
    typo = _typo_bundle(tmp_path, demo)
    bundle = load_bundle(tmp_path)
    expected = typo.assign(demo.queries)
    assert bundle.stratifier().assign(demo.queries) == expected  # no corpus needed at query time
    applied = bundle.run(demo)
    heavy = [q for q, label in expected.items() if label == "typo-heavy"]
    assert heavy and all(applied.choices[q] == "spell+bm25" for q in heavy)
    assert applied.queries_per_pipeline()["bm25"] == len(expected) - len(heavy)
    assert all(len(applied.run.ranked_ids(q)) <= 20 for q in demo.queries)
    assert check_out_path(tmp_path) == tmp_path  # a bundle folder may be replaced by a rerun


def test_loader_refuses_what_is_not_a_bundle(tmp_path, demo):
    with pytest.raises(ConfigError, match="not a fix bundle"):
        load_bundle(tmp_path)
    _typo_bundle(tmp_path, demo)
    data = yaml.safe_load((tmp_path / "bundle.yaml").read_text(encoding="utf-8"))
    del data["pipelines"]["spell+bm25"]
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="routes to spell\\+bm25, which bundle.yaml does not define"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump({"format": "other/9"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="is not 'rerank-fix-bundle/1'"):
        load_bundle(tmp_path)
    policy = json.loads((tmp_path / "policy.json").read_text(encoding="utf-8"))
    assert policy["dimension"] == "typo"
