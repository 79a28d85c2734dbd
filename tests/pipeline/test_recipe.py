"""Recipe validation: shipped recipes load; broken ones fail with one clear message naming the field."""
from __future__ import annotations

from pathlib import Path

import pytest

from rerank_fix.cli import main
from rerank_fix.errors import ConfigError
from rerank_fix.pipeline.recipe import RerankStage, RRFStage, load_recipe, parse_recipe

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_finetune_eval_fast_recipe_validates(tmp_path):
    trained = tmp_path / "my-model"
    trained.mkdir()
    recipe = load_recipe(ROOT / "recipes" / "finetune-eval-fast.yaml",
                         overrides={"models.finetuned.path": str(trained), "data.source": "demo"})
    assert [p.name for p in recipe.pipelines] == ["dense", "dense+finetuned-CE", "dense+finetuned-CE-blend"]
    rerank = recipe.pipeline("dense+finetuned-CE-blend").stages[1]
    assert isinstance(rerank, RerankStage) and rerank.depth == 20 and rerank.interpolate == "tune"

def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    return str(info.value)


@pytest.mark.parametrize("name", ["compare-fixes.yaml", "demo.yaml"])
def test_shipped_recipes_validate(name):
    recipe = load_recipe(ROOT / "recipes" / name)
    assert recipe.baseline.name == "dense"
    names = [p.name for p in recipe.pipelines]
    assert {"dense", "dense+rerank", "bm25", "rrf", "weighted-rrf", "rrf+rerank", "routed"} <= set(names)
    weighted = recipe.pipeline("weighted-rrf").stages[0]
    assert isinstance(weighted, RRFStage) and weighted.weights == "tune" and weighted.k == "tune"
    assert recipe.pipeline("routed").route.between[0] == "dense"
    rerank = recipe.pipeline("dense+rerank").stages[1]
    assert isinstance(rerank, RerankStage) and rerank.model in recipe.models
    assert rerank.trust_remote_code is False


def test_stage_forms_and_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, """
defaults:
  rerank: {depth: 20}
retrievers:
  bm25-strict: {bm25: {k1: 1.2, b: 0.75}}
pipelines:
  - name: a
    stages: [dense]
  - name: b
    stages:
      - {stage: dense, top_k: 30}
      - rerank: {model: BAAI/bge-reranker-v2-m3}
  - name: c
    stages:
      - rrf: {retrievers: [dense, bm25-strict], weights: [1, 0.25], k: 10}
"""))
    b = recipe.pipeline("b").stages
    assert b[0].top_k == 30 and b[1].depth == 20 and b[1].max_length == 256
    rrf = recipe.pipeline("c").stages[0]
    assert [r.stage for r in rrf.retrievers] == ["dense", "bm25"]
    assert rrf.retrievers[1].k1 == 1.2 and rrf.retrievers[1].b == 0.75
    assert rrf.weights == [1.0, 0.25] and rrf.k == 10


def test_unknown_stage_names_field_and_line(tmp_path):
    message = error_of(write(tmp_path, """
pipelines:
  - name: base
    stages: [dense]
  - name: broken
    stages:
      - dense
      - rerankk: {model: BAAI/bge-reranker-v2-m3}
"""))
    assert "pipelines[1].stages[1]" in message
    assert "unknown stage 'rerankk'" in message and "rerank" in message
    assert "recipe.yaml:8" in message
    assert "'broken'" in message


def test_missing_model_path(tmp_path):
    message = error_of(write(tmp_path, """
pipelines:
  - name: dense
    stages: [dense]
  - name: tuned
    stages:
      - dense
      - rerank: {model: ./models/not-trained-yet, depth: 50}
"""))
    assert "pipelines[1].stages[1].rerank.model" in message
    assert "does not exist" in message and "not-trained-yet" in message


def test_rerank_deeper_than_stage_one(tmp_path):
    message = error_of(write(tmp_path, """
pipelines:
  - name: dense
    stages: [dense]
  - name: deep
    stages:
      - dense: {top_k: 40}
      - rerank: {model: BAAI/bge-reranker-v2-m3, depth: 100}
"""))
    assert "pipelines[1].stages[1].rerank.depth" in message
    assert "100" in message and "top_k=40" in message


def test_weights_must_match_retrievers(tmp_path):
    message = error_of(write(tmp_path, """
pipelines:
  - name: dense
    stages: [dense]
  - name: hybrid
    stages:
      - rrf: {retrievers: [dense, bm25], weights: [1.0, 0.5, 0.2]}
"""))
    assert "pipelines[1].stages[0].rrf" in message
    assert "3 weights given for 2 retrievers" in message


def test_several_problems_reported_together(tmp_path):
    message = error_of(write(tmp_path, """
alpha: 2
folds: 1
pipelines:
  - name: dense
    stages: [dense]
"""))
    assert "2 problems" in message and "alpha" in message and "folds" in message
    message = error_of(write(tmp_path, """
pipelines:
  - name: dense
    stages: [dense]
  - name: dense
    stages: [bm25]
  - name: r
    route: {between: [dense, nothing]}
"""))
    assert "already used" in message
    assert "'nothing' is not an earlier pipeline" in message


def test_routing_and_order_rules(tmp_path):
    message = error_of(write(tmp_path, """
pipelines:
  - name: r
    route: {between: [a, b]}
  - name: x
    stages:
      - rerank: {model: BAAI/bge-reranker-v2-m3}
      - dense
      - rewrite: {mode: replace}
"""))
    assert "baseline; it cannot be routed" in message
    assert "rerank needs a retrieval stage" in message
    assert "rewrite must come before" in message


def test_bad_rewrite_config_is_reported_with_its_field(tmp_path):
    message = error_of(write(tmp_path, """
pipelines:
  - name: d
    stages: [dense]
  - name: s
    stages:
      - rewrite: {config: {backend: telepathy}}
      - dense
"""))
    assert "pipelines[1].stages[0].rewrite.config" in message and "telepathy" in message


def test_malformed_yaml_and_non_mapping(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pipelines: [dense\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_recipe(path)
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        parse_recipe(["dense"])


def test_cli_prints_message_without_traceback(tmp_path, capsys):
    path = write(tmp_path, """
pipelines:
  - name: dense
    stages: [dense]
  - name: hybrid
    stages:
      - rrf: {retrievers: [dense, bm25], weights: [1.0]}
""")
    code = main(["compare", str(path), "--data", "demo", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "weights" in err and "Traceback" not in err


def test_cli_rejects_bad_model_override(tmp_path, capsys):
    code = main(["compare", str(ROOT / "recipes" / "demo.yaml"), "--model", "no-equals-sign",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_quick_train_refuses_the_evaluated_split(tmp_path):
    from rerank_fix.pipeline.quick_train import choose_split
    from rerank_fix.pipeline.recipe import QuickTrainSpec

    folder = tmp_path / "only-test"
    (folder / "qrels").mkdir(parents=True)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\td\t1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        choose_split(QuickTrainSpec(splits=["test", "train"]), str(folder), "test", alias="minilm-quick")
    message = str(info.value)
    assert "test (the evaluated split)" in message and "train (absent)" in message
    assert "--model minilm-quick=PATH" in message
    assert choose_split(QuickTrainSpec(), "demo", "test") == "train"


def test_quick_train_levers_reach_the_finetune_config():
    from rerank_fix.finetune.config import parse_config
    from rerank_fix.pipeline.quick_train import finetune_settings
    from rerank_fix.pipeline.recipe import QuickTrainSpec

    spec = QuickTrainSpec(negatives=15, group_size=4, batch_size=16, warmup_ratio=0.2, head_init="auto",
                          head_learning_rate=2e-3)
    cfg = parse_config(finetune_settings(spec, "minilm-quick", "run", "triples.jsonl"))
    assert cfg.data.group_size == 4 and cfg.train.per_device_batch_size == 4
    assert cfg.train.warmup_ratio == 0.2 and cfg.train.head_learning_rate == 2e-3 and cfg.model.head_init == "auto"
    # Without group_size a group holds every mined negative; a group never asks for more than were mined.
    assert parse_config(finetune_settings(QuickTrainSpec(negatives=3), "q", "run", "t")).data.group_size == 4
    assert parse_config(finetune_settings(QuickTrainSpec(negatives=3, group_size=8), "q", "run", "t")).data.group_size == 4
    with pytest.raises(ValueError):
        QuickTrainSpec(group_size=1)


def test_model_alias_overrides_merge(tmp_path):
    recipe = load_recipe(ROOT / "recipes" / "compare-fixes.yaml",
                         {"models.minilm-quick.quick_train.max_queries": 10})
    spec = recipe.models["minilm-quick"].quick_train
    assert spec.max_queries == 10 and spec.learning_rate == 1e-4  # the rest still from configs/models.yaml
    recipe = load_recipe(ROOT / "recipes" / "compare-fixes.yaml",
                         {"models.minilm-quick": {"path": "BAAI/bge-reranker-v2-m3"}})
    assert recipe.models["minilm-quick"].path == "BAAI/bge-reranker-v2-m3"
    assert recipe.models["minilm-quick"].quick_train is None


def test_cli_rejects_model_override_for_unused_name(tmp_path, capsys):
    code = main(["compare", str(ROOT / "recipes" / "demo.yaml"), "--model", "minlm-quick=/tmp/x",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "minlm-quick" in err and "minilm-quick" in err and "Traceback" not in err


def test_finetune_eval_recipe_needs_a_trained_model_and_says_how(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/ folder here: nothing has been fine-tuned yet
    if not (ROOT / "runs" / "finetune" / "cpu-minilm" / "best").exists():  # a developer's own run would satisfy it
        message = error_of(ROOT / "recipes" / "finetune-eval.yaml")
        assert "runs/finetune/cpu-minilm/best" in message and "rerank-fix finetune" in message
    trained = tmp_path / "my-model"
    trained.mkdir()
    recipe = load_recipe(ROOT / "recipes" / "finetune-eval.yaml", overrides={"models.finetuned.path": str(trained)})
    blend = recipe.pipeline("dense+finetuned-CE-blend").stages[1]
    assert isinstance(blend, RerankStage) and blend.interpolate == "tune" and blend.tuned
    assert recipe.pipeline("dense+untrained-CE").stages[1].model == "minilm-untrained"
    assert recipe.pipeline("routed").route.between == ["dense", "dense+finetuned-CE-blend"]


def test_cli_model_override_replaces_the_recipes_untrained_default_before_validation(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    not_a_model = tmp_path / "empty-folder"
    not_a_model.mkdir()
    code = main(["compare", str(ROOT / "recipes" / "finetune-eval.yaml"), "--data", "demo", "--split", "test",
                 "--max-queries", "8", "--latency-sample", "0", "--only", "dense+finetuned-CE",
                 "--model", f"finetuned={not_a_model}", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    # Validation accepted the override; the failure is the folder itself, named, not the recipe's default path.
    assert "runs/finetune/cpu-minilm/best" not in err and str(not_a_model) in err
