"""``route`` is a registered spec (STAGES) that stands in a pipeline's ``route:`` key, never in ``stages:``."""
from __future__ import annotations

from pathlib import Path

import pytest

from rerank_fix.errors import ConfigError
from rerank_fix.pipeline.recipe import STAGE_KINDS, RouteSpec, load_recipe
from rerank_fix.pipeline.runner import _select
from rerank_fix.pipeline.stage import ROLES, STAGES, kinds_with_role


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    return str(info.value)


def test_route_is_registered_but_is_not_a_stage_of_a_stages_list():
    assert STAGES.get("route") is RouteSpec and RouteSpec.role == "route" not in ROLES
    assert "route" not in STAGE_KINDS and "route" not in kinds_with_role(*ROLES)
    spec = RouteSpec(between=["dense", "dense+rerank"], metric="recall@10")
    assert (spec.kind, spec.label(), spec.tuned_metrics(), spec.needs()) == (
        "route", "route", ["recall@10"], ["dense", "dense+rerank"])


def test_route_inside_stages_is_an_unknown_stage(tmp_path):
    message = _error(tmp_path, "pipelines:\n  - name: d\n    stages: [dense]\n  - name: r\n    stages: [route]\n")
    assert "unknown stage" in message and "route" not in message.split("choose one of", 1)[1]


def test_the_route_spec_checks_itself_and_names_the_line(tmp_path):
    message = _error(tmp_path, """pipelines:
  - name: d
    stages: [dense]
  - name: r
    route: {between: [d, later], metric: ndgc@10, policy: no/such/policy.json}
  - name: later
    stages: [bm25]
""")
    assert "pipelines[1].route.between[1]" in message and "'later' is not an earlier pipeline" in message
    assert "pipelines[1].route.metric" in message and "pipelines[1].route.policy" in message
    assert "recipe.yaml:5" in message


def test_the_recipe_computes_a_routes_metric_and_only_keeps_what_it_needs(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("""pipelines:
  - name: d
    stages: [dense]
  - name: b
    stages: [bm25]
  - name: x
    stages: [bm25]
  - name: r
    route: {between: [d, b], metric: recall@20}
""", encoding="utf-8")
    recipe = load_recipe(path)
    assert "recall@20" in recipe.all_metrics()
    assert [p.name for p in _select(recipe, ["r"])] == ["d", "b", "r"]
