"""Config validation: clear messages for bad configs, warnings for the known failure modes."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rerank_fix.cli import main
from rerank_fix.errors import ConfigError
from rerank_fix.finetune.config import config_warnings, load_config, parse_config, size_warnings

ROOT = Path(__file__).resolve().parents[2]


def _base(**sections):
    cfg = {"data": {"triples": "t.jsonl"}, "eval": {"enabled": False}}
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def test_unknown_loss_names_the_field_and_the_choices():
    with pytest.raises(ConfigError) as err:
        parse_config(_base(loss={"name": "hinge"}), source="my.yaml")
    message = str(err.value)
    assert "my.yaml" in message and "loss.name" in message and "'hinge'" in message
    for choice in ("group_ce", "bce", "lambda", "listnet"):
        assert choice in message


def test_unknown_field_and_missing_section_are_reported_together():
    with pytest.raises(ConfigError) as err:
        parse_config({"train": {"learnig_rate": 1e-5}}, source="c.yaml")
    message = str(err.value)
    assert "train.learnig_rate: unknown field" in message
    assert "data: required field is missing" in message


def test_eval_split_must_differ_from_the_test_split():
    with pytest.raises(ConfigError, match="held-out test split"):
        parse_config(_base(eval={"enabled": True, "data": "x", "split": "test"}))
    with pytest.raises(ConfigError, match="held-out test split"):
        parse_config(_base(eval={"enabled": True, "data": "x", "split": "heldout", "test_split": "heldout"}))
    cfg = parse_config(_base(eval={"enabled": True, "data": "x", "split": "train", "dev_fraction": 0.1}))
    assert cfg.eval.split == "train" and cfg.eval.test_split == "test"


def test_eval_metric_is_checked_and_put_in_the_reported_metrics():
    with pytest.raises(ConfigError, match="unknown metric"):
        parse_config(_base(eval={"enabled": True, "data": "x", "metric": "ndgc@10"}))
    cfg = parse_config(_base(eval={"enabled": True, "data": "x", "metric": "mrr@10", "metrics": ["ndcg@10"]}))
    assert "mrr@10" in cfg.eval.metrics


def test_warnings_for_long_inputs_and_high_learning_rate():
    quiet = parse_config(_base(model={"max_length": 512}, train={"learning_rate": 2e-5}))
    assert config_warnings(quiet) == []
    risky = parse_config(_base(model={"max_length": 1024}, train={"learning_rate": 1e-4}))
    warnings = " ".join(config_warnings(risky))
    assert "#731" in warnings and "1024" in warnings
    # The collapse at high learning rates is a large-model problem; a small fresh-head model needs 1e-4.
    large = " ".join(size_warnings(risky, 568_000_000))
    assert "#858" in large and "collapse" in large
    assert not any("#858" in w for w in size_warnings(risky, 22_000_000))
    assert size_warnings(quiet, 568_000_000) and not size_warnings(quiet, 22_000_000)


def test_save_total_limit_keeps_at_least_two_checkpoints():
    with pytest.raises(ConfigError, match="train.save_total_limit"):
        parse_config(_base(train={"save_total_limit": 1}))


def test_load_config_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  triples: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: malformed YAML"):
        load_config(bad)


def test_overrides_and_relative_paths(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "pyproject.toml").write_text("", encoding="utf-8")
    (project / "data").mkdir()
    (project / "data" / "t.jsonl").write_text("", encoding="utf-8")
    path = project / "configs" / "c.yaml"
    path.write_text(yaml.safe_dump(_base(data={"triples": "data/t.jsonl"})), encoding="utf-8")
    cfg = load_config(path, overrides={"train.max_steps": 3, "loss.name": "bce"})
    assert cfg.train.max_steps == 3 and cfg.loss.name == "bce"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # Not found from here: anchored at the project root that holds the config.
    assert load_config(path).resolve("data/t.jsonl") == project / "data" / "t.jsonl"
    # Found from here: the current directory wins (a user's own copy of the layout).
    (elsewhere / "data").mkdir()
    (elsewhere / "data" / "t.jsonl").write_text("", encoding="utf-8")
    assert load_config(path).resolve("data/t.jsonl") == elsewhere / "data" / "t.jsonl"
    with pytest.raises(ConfigError, match="override train.x.y: x is not a section"):
        load_config(path, overrides={"train.x": 1, "train.x.y": 2})


@pytest.mark.parametrize("name", ["cpu-minilm.yaml", "cpu-minilm-fast.yaml", "cpu-minilm-cosqa.yaml",
                                  "bge-reranker-v2-m3.yaml"])
def test_shipped_configs_are_valid_and_quiet(name):
    cfg = load_config(ROOT / "configs" / "finetune" / name)
    assert config_warnings(cfg) == []
    assert cfg.eval.enabled and cfg.eval.split != cfg.eval.test_split
    if name.startswith("bge"):
        assert cfg.train.bf16 and cfg.train.gradient_checkpointing and cfg.data.group_size == 16
        assert cfg.model.max_length == 512 and 2e-5 <= cfg.train.learning_rate <= 6e-5
        assert cfg.train.gradient_accumulation_steps > 1 and cfg.train.weight_decay == 0.01
        assert cfg.train.warmup_ratio == 0.1 and 1 <= cfg.train.epochs <= 2


def test_cli_prints_config_errors_without_traceback(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_base(loss={"name": "hinge"})), encoding="utf-8")
    assert main(["finetune", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown loss 'hinge'" in err and "Traceback" not in err
