"""YAML configs and recipes: alias bombs refused fast, duplicate keys refused with both lines, a wrong shape at
any level names the field, quoted values are cut short, and no tag can build a Python object."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from hostile_helpers import assert_user_error, cli, snapshot

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
RECIPE = "name: t\ndata: {source: demo}\npipelines:\n  - name: bm25\n    stages: [bm25]\n"
FINETUNE = "output_dir: {out}\ndata: {{triples: t.jsonl}}\neval: {{enabled: false}}\n"


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def compare(capsys, tmp_path, text):
    return cli(capsys, "compare", _write(tmp_path, "recipe.yaml", text), "--out", tmp_path / "out", "--quiet")


def finetune(capsys, tmp_path, text, *extra):
    return cli(capsys, "finetune", _write(tmp_path, "ft.yaml", text), "--no-progress", *extra)


def mine(capsys, tmp_path, text):
    return cli(capsys, "mine", "--data", "demo", "--config", _write(tmp_path, "mine.yaml", text),
               "--out", tmp_path / "out", "--split", "test", "--retriever", "bm25")


def rewrite(capsys, tmp_path, text):
    return cli(capsys, "rewrite", "--data", "demo", "--config", _write(tmp_path, "rw.yaml", text),
               "--out", tmp_path / "out")


COMMANDS = {"compare": compare, "finetune": finetune, "mine": mine, "rewrite": rewrite}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_alias_bomb_is_refused_fast(command, tmp_path, capsys):
    started = time.perf_counter()
    result = COMMANDS[command](capsys, tmp_path, BOMB + RECIPE.replace("name: t\n", ""))
    assert_user_error(result, r"\.yaml:\d+: the document expands to more than 200,000 values .* an alias bomb — write the values out")
    assert time.perf_counter() - started < 5
    assert not (tmp_path / "out").exists()


def test_many_aliases_are_refused(tmp_path, capsys):
    text = "a: &a 1\nlist: [" + ", ".join(["*a"] * 1500) + "]\n"
    assert_user_error(compare(capsys, tmp_path, text), r"recipe\.yaml:2: more than 1000 aliases \(\*name\) — write the values out")


def test_a_few_aliases_are_fine(tmp_path):
    from rerank_fix.config_io import load_yaml_text

    data = load_yaml_text("base: &b {top_k: 10}\nx: *b\ny: {<<: *b, k: 2}\n")
    assert data["x"] == {"top_k": 10} and data["y"] == {"top_k": 10, "k": 2}


@pytest.mark.parametrize("command,text,line", [
    ("compare", RECIPE + "pipelines:\n  - name: dense\n    stages: [dense]\n", 6),
    ("compare", "name: t\ndata: {source: demo, source: other}\npipelines: []\n", 2),
    ("finetune", FINETUNE.format(out="o") + "train: {epochs: 1}\ntrain: {epochs: 2}\n", 5),
    ("mine", "negatives: 3\nnegatives: 5\n", 2),
    ("rewrite", "backend: spell\nmode: replace\nbackend: openai\n", 3),
])
def test_duplicate_keys_are_refused(command, text, line, tmp_path, capsys):
    assert_user_error(COMMANDS[command](capsys, tmp_path, text),
                      rf"\.yaml:{line}: duplicate key '.*' \(first on line \d+\) — keep one of them")


SHAPES = {
    "recipe_retrievers_list": ("compare", RECIPE + "retrievers: [dense, bm25]\n",
                               r"recipe\.yaml:6: retrievers: must be a mapping of name -> retriever"),
    "recipe_models_list": ("compare", RECIPE + "models: [a, b]\n", r"recipe\.yaml:6: models: must be a mapping"),
    "recipe_top_level_list": ("compare", "- name: bm25\n", r"recipe\.yaml:1: expected a mapping .* got a list"),
    "recipe_top_level_string": ("compare", "just words\n", r"recipe\.yaml:1: expected a mapping .* got a string"),
    "recipe_stage_options_list": ("compare", RECIPE.replace("[bm25]", "[{bm25: [1, 2]}]"),
                                  r"recipe\.yaml:5: pipelines\[0\]\.stages\[0\]\.bm25 .*must be a mapping"),
    "recipe_pipelines_mapping": ("compare", "name: t\ndata: {source: demo}\npipelines: {a: 1}\n", r"recipe\.yaml:3: pipelines"),
    "recipe_data_list": ("compare", "name: t\ndata: [demo]\npipelines:\n  - name: bm25\n    stages: [bm25]\n",
                         r"recipe\.yaml:2: data"),
    "recipe_duplicate_pipeline": ("compare", RECIPE + "  - name: bm25\n    stages: [bm25]\n",
                                  r"pipeline name 'bm25' is already used by pipelines\[0\]"),
    "finetune_is_a_list": ("finetune", "- output_dir: o\n- data: x\n", r"ft\.yaml:1: expected a mapping .* got a list"),
    "finetune_train_list": ("finetune", FINETUNE.format(out="o") + "train: [1, 2]\n", r"ft\.yaml: train must be a mapping"),
    "finetune_data_string": ("finetune", "output_dir: o\ndata: t.jsonl\n", r"ft\.yaml: data must be a mapping"),
    "finetune_model_number": ("finetune", FINETUNE.format(out="o") + "model: 3\n", r"ft\.yaml: model must be a mapping"),
    "mine_is_a_list": ("mine", "- negatives\n", r"mine\.yaml:1: expected a mapping .* got a list"),
    "rewrite_is_a_list": ("rewrite", "- spell\n", r"rw\.yaml:1: expected a mapping .* got a list"),
}


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_wrong_shape_names_the_field(case, tmp_path, capsys):
    command, text, pattern = SHAPES[case]
    assert_user_error(COMMANDS[command](capsys, tmp_path, text), pattern)


def test_a_long_value_is_cut_short_in_the_message(tmp_path, capsys):
    text = RECIPE.replace("[bm25]", "[" + "b" * 50_000 + "]")
    match = assert_user_error(compare(capsys, tmp_path, text), r"unknown stage 'b+…' \(50000 chars\)")
    assert len(match.group(0)) < 700


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch pwned']", "!!python/name:os.system",
                                 "!!binary aGVsbG8="])
def test_tags_that_build_objects_are_refused(tag, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = compare(capsys, tmp_path, RECIPE + f"evil: {tag}\n")
    assert result.code == 2 and "Traceback" not in result.err
    assert not (tmp_path / "pwned").exists()


def test_malformed_yaml_names_the_line(tmp_path, capsys):
    assert_user_error(compare(capsys, tmp_path, RECIPE + "  - name: [unclosed\n"), r"recipe\.yaml:\d+: malformed YAML")


def test_recipe_that_is_a_folder(tmp_path, capsys):
    (tmp_path / "recipe.yaml").mkdir()
    result = cli(capsys, "compare", tmp_path / "recipe.yaml", "--out", tmp_path / "out")
    assert_user_error(result, r"recipe\.yaml: the recipe file is a folder — give the YAML file inside it")


def test_recipe_in_latin1(tmp_path, capsys):
    assert_user_error(compare(capsys, tmp_path, (RECIPE + "description: caf\xe9\n").encode("latin-1")),
                      r"recipe\.yaml:6: byte 0xe9 at byte offset \d+ is not valid UTF-8")


def test_recipe_with_a_bom_is_read(tmp_path):
    from rerank_fix.pipeline.recipe import load_recipe

    path = _write(tmp_path, "recipe.yaml", b"\xef\xbb\xbf" + RECIPE.encode())
    assert load_recipe(path).pipelines[0].name == "bm25"


@pytest.mark.parametrize("command,args,pattern", [
    ("compare", ["--set", "folds=[unclosed"], r"--set folds:1: malformed YAML"),
    ("compare", ["--set", "folds=*nothing"], r"--set folds:1: malformed YAML"),
    ("compare", ["--set", "=3"], r"--set '=3': expected NAME=VALUE"),
])
def test_bad_set_values(command, args, pattern, tmp_path, capsys):
    path = _write(tmp_path, "recipe.yaml", RECIPE)
    before = snapshot(path)
    assert_user_error(cli(capsys, "compare", path, "--out", tmp_path / "out", *args), pattern)
    assert snapshot(path) == before


def test_finetune_set_with_a_bad_value(tmp_path, capsys):
    result = finetune(capsys, tmp_path, FINETUNE.format(out="o"), "--set", "train.epochs={a: [}")
    assert_user_error(result, r"--set train\.epochs:1: malformed YAML")
