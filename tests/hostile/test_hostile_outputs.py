"""Output paths: checked before any work starts; nothing the project did not write is ever deleted; reruns
replace exactly the previous run's files; exports replace only a previous export, never their own source."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hostile_helpers import assert_user_error, cli, snapshot

RECIPE = "name: t\ndata: {{source: {data}}}\nmin_stratum_size: 2\npipelines:\n  - name: bm25\n    stages: [bm25]\n"


def run_command(command: str, capsys, data: Path, out: Path, tmp_path: Path):
    if command == "diagnose":
        return cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", out)
    if command == "mine":
        return cli(capsys, "mine", "--data", data, "--split", "test", "--retriever", "bm25", "--out", out,
                   "--range", "1:10", "--negatives", "1")
    if command == "rewrite":
        return cli(capsys, "rewrite", "--data", data, "--out", out)
    if command == "compare":
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(RECIPE.format(data=data), encoding="utf-8")
        return cli(capsys, "compare", recipe, "--out", out, "--quiet", "--no-plots")
    raise AssertionError(command)


COMMANDS = ["compare", "diagnose", "mine", "rewrite"]


@pytest.mark.parametrize("command", COMMANDS)
def test_out_that_is_a_file(command, dataset, tmp_path, capsys):
    out = tmp_path / "taken.txt"
    out.write_text("my notes")
    assert_user_error(run_command(command, capsys, dataset, out, tmp_path),
                      r"taken\.txt: --out is an existing file, not a folder — give a folder path")
    assert out.read_text() == "my notes"


@pytest.mark.parametrize("command", COMMANDS)
def test_out_inside_the_input_data(command, dataset, tmp_path, capsys):
    before = snapshot(dataset)
    assert_user_error(run_command(command, capsys, dataset, dataset / "results", tmp_path),
                      r"results: --out lies inside the input data .* — write outputs outside the data folder")
    assert snapshot(dataset) == before and not (dataset / "results").exists()


def test_out_is_the_data_folder(dataset, tmp_path, capsys):
    assert_user_error(run_command("diagnose", capsys, dataset, dataset, tmp_path), r"--out lies inside the input data")


def test_out_that_contains_the_data(dataset, tmp_path, capsys):
    before = snapshot(tmp_path)
    assert_user_error(run_command("diagnose", capsys, dataset, tmp_path, tmp_path),
                      r"--out contains the input .* — choose a folder that does not hold the input")
    assert snapshot(tmp_path) == before


def test_out_under_a_file(dataset, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert_user_error(run_command("diagnose", capsys, dataset, tmp_path / "file" / "out", tmp_path),
                      r"file is a file, so --out cannot be created there")


def test_out_that_is_a_broken_link(dataset, tmp_path, capsys):
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    assert_user_error(run_command("diagnose", capsys, dataset, tmp_path / "out", tmp_path),
                      r"out: --out is a broken symbolic link")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere whatever the mode; chmod cannot deny it")
def test_out_that_is_read_only(dataset, tmp_path, capsys):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    try:
        assert_user_error(run_command("diagnose", capsys, dataset, tmp_path / "ro" / "out", tmp_path),
                          r"--out is not writable")
    finally:
        (tmp_path / "ro").chmod(0o700)


def test_out_on_a_read_only_file_system(dataset, tmp_path, capsys):
    """Works as root too: /proc refuses new folders whatever the user."""
    result = run_command("diagnose", capsys, dataset, Path("/proc/rerank-fix-test-out"), tmp_path)
    assert_user_error(result, r"/proc/rerank-fix-test-out: --out (cannot be written|is not writable)")


@pytest.mark.parametrize("command", ["diagnose", "compare", "mine"])
def test_out_holding_files_rerank_fix_did_not_write(command, dataset, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "report.md").write_text("my own report")
    (out / "sub" / "data.csv").write_text("1,2")
    before = snapshot(out)
    assert_user_error(run_command(command, capsys, dataset, out, tmp_path),
                      r"out: --out holds 2 file\(s\) rerank-fix did not write, e\.g\. 'report\.md' — choose a new "
                      r"or empty folder")
    assert snapshot(out) == before


def test_out_holding_another_commands_output(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_command("diagnose", capsys, dataset, out, tmp_path).code == 0
    before = snapshot(out)
    assert_user_error(run_command("mine", capsys, dataset, out, tmp_path),
                      r"out: --out holds the output of `rerank-fix diagnose` — choose another folder")
    assert snapshot(out) == before


def test_an_empty_existing_folder_is_fine(dataset, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert run_command("diagnose", capsys, dataset, tmp_path / "out", tmp_path).code == 0


def test_rerun_removes_the_previous_runs_files(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(capsys, "diagnose", "--data", dataset, "--retriever", "both", "--out", out).code == 0
    assert (out / "runs" / "dense.trec").is_file() and (out / "per_query.dense.tsv").is_file()
    assert cli(capsys, "diagnose", "--data", dataset, "--retriever", "bm25", "--out", out).code == 0
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != ".rerank-fix.json")
    assert not [f for f in left if "dense" in f], left
    assert "runs/bm25.trec" in left and "report.md" in left
    manifest = json.loads((out / ".rerank-fix.json").read_text())
    assert manifest["command"] == "diagnose" and manifest["status"] == "complete"
    assert sorted(manifest["files"]) == left


def test_an_interrupted_runs_leftovers_are_cleaned_by_the_next_run(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_command("diagnose", capsys, dataset, out, tmp_path).code == 0
    manifest = json.loads((out / ".rerank-fix.json").read_text())
    # What a run killed mid-write leaves: the manifest still says incomplete, half-written temp files.
    (out / ".rerank-fix.json").write_text(json.dumps({**manifest, "status": "incomplete",
                                                      "started": manifest["finished"] - 5, "files": []}))
    (out / "report.json.tmp").write_text("{half")
    (out / "runs" / "bm25.trec.tmp").write_text("q1 Q0")
    assert run_command("diagnose", capsys, dataset, out, tmp_path).code == 0
    assert not list(out.rglob("*.tmp"))


def test_rewrites_of_two_queries_files_share_a_folder(dataset, tmp_path, capsys):
    shutil.copy(dataset / "queries.jsonl", dataset / "queries.typo1.jsonl")
    out = tmp_path / "out"
    assert cli(capsys, "rewrite", "--data", dataset, "--out", out).code == 0
    assert cli(capsys, "rewrite", "--data", dataset, "--queries", "queries.typo1.jsonl", "--out", out).code == 0
    assert (out / "queries.rewritten.jsonl").is_file() and (out / "queries.typo1.rewritten.jsonl").is_file()


# --- fine-tune output_dir ----------------------------------------------------------------------------------------

def _finetune_config(tmp_path: Path, dataset: Path, output_dir: Path) -> Path:
    triples = tmp_path / "triples.jsonl"
    triples.write_text(json.dumps({"query": "refund", "pos": ["a"], "neg": ["b", "c", "d"]}) + "\n")
    config = tmp_path / "ft.yaml"
    shutil.copy(dataset / "qrels" / "test.tsv", dataset / "qrels" / "dev.tsv")
    config.write_text(f"output_dir: {output_dir}\ndata: {{triples: {triples}, group_size: 4}}\n"
                      f"eval: {{enabled: true, data: {dataset}, split: dev}}\n", encoding="utf-8")
    return config


def test_finetune_output_dir_that_is_a_file(dataset, tmp_path, capsys):
    (tmp_path / "run").write_text("not a folder")
    result = cli(capsys, "finetune", _finetune_config(tmp_path, dataset, tmp_path / "run"), "--no-progress")
    assert_user_error(result, r"run: output_dir is an existing file, not a folder")
    assert (tmp_path / "run").read_text() == "not a folder"


def test_finetune_output_dir_inside_the_eval_data(dataset, tmp_path, capsys):
    result = cli(capsys, "finetune", _finetune_config(tmp_path, dataset, dataset / "run"), "--no-progress")
    assert_user_error(result, r"run: output_dir lies inside the input data")


def test_finetune_output_dir_holding_other_files(dataset, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "thesis.tex").write_text("chapter 1")
    result = cli(capsys, "finetune", _finetune_config(tmp_path, dataset, tmp_path / "run"), "--no-progress")
    assert_user_error(result, r"run: output_dir holds 1 file\(s\) rerank-fix did not write, e\.g\. 'thesis\.tex'")
    assert (tmp_path / "run" / "thesis.tex").read_text() == "chapter 1"


# --- export -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    from rerank_fix.models import load_cross_encoder

    folder = tmp_path_factory.mktemp("model") / "reranker"
    load_cross_encoder(None, num_labels=1).save_pretrained(str(folder))
    return folder


def _copy_model(model_folder: Path, dest: Path) -> Path:
    shutil.copytree(model_folder, dest)
    return dest


def test_export_into_the_folder_holding_its_source(model_folder, tmp_path, capsys):
    """The reported bug: `export out/projA/run out/projA --force` deleted its own source and a file beside it."""
    project = tmp_path / "out" / "projA"
    source = _copy_model(model_folder, project / "run")
    (project / "notes.txt").write_text("unrelated")
    before = snapshot(tmp_path / "out")
    assert_user_error(cli(capsys, "export", source, project, "--force"),
                      r"projA: the export target contains the source .* — exporting there would replace the source")
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize("where", ["same", "inside"])
def test_export_target_is_or_lies_inside_the_source(where, model_folder, tmp_path, capsys):
    source = _copy_model(model_folder, tmp_path / "src")
    target = source if where == "same" else source / "exported"
    before = snapshot(source)
    assert_user_error(cli(capsys, "export", source, target, "--force"), r"the export target (contains|lies inside) the source")
    assert snapshot(source) == before


def test_export_force_refuses_a_folder_that_is_not_an_export(model_folder, tmp_path, capsys):
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert_user_error(cli(capsys, "export", model_folder, target, "--force"),
                      r"target: --force replaces only a previous export, and this folder is not one")
    assert (target / "keep.txt").read_text() == "mine"


def test_export_target_that_is_a_file(model_folder, tmp_path, capsys):
    (tmp_path / "target").write_text("x")
    assert_user_error(cli(capsys, "export", model_folder, tmp_path / "target", "--force"),
                      r"target: the export target is an existing file — choose a folder path")


def test_export_force_replaces_a_previous_export_only(model_folder, tmp_path, capsys):
    target = tmp_path / "target"
    assert cli(capsys, "export", model_folder, target).code == 0
    first = snapshot(target)
    # A user's file inside the previous export: --force would delete it, so it refuses.
    (target / "my-notes.md").write_text("do not lose")
    assert_user_error(cli(capsys, "export", model_folder, target, "--force"),
                      r"--force would delete 1 file\(s\) the previous export did not write, e\.g\. 'my-notes\.md'")
    assert snapshot(target) == {**first, str(target / "my-notes.md"): snapshot(target / "my-notes.md")[str(target / "my-notes.md")]}
    (target / "my-notes.md").unlink()
    # A temporary folder left by an export that was killed (its process is gone) is cleaned by the next one.
    stale = tmp_path / ".target.tmp-0badc0de"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"\0" * 1024)
    (stale / ".rerank-fix.json").write_text(json.dumps({"command": "export", "status": "incomplete", "pid": 2 ** 22 + 7}))
    foreign = tmp_path / ".target.tmp-12345678"
    foreign.mkdir()  # named like ours but without our marker: not ours, left alone
    assert cli(capsys, "export", model_folder, target, "--force").code == 0
    assert not stale.exists() and foreign.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".target.tmp-12345678", "target"]
    assert (target / "model.safetensors").is_file()


def test_export_source_without_weights(model_folder, tmp_path, capsys):
    source = _copy_model(model_folder, tmp_path / "src")
    (source / "model.safetensors").unlink()
    assert_user_error(cli(capsys, "export", source, tmp_path / "target"),
                      r"src: no model weights \(model\.safetensors or pytorch_model\.bin\) — the folder is incomplete")
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize("how", ["auto_map", "py_file"])
def test_export_source_with_custom_code(how, model_folder, tmp_path, capsys):
    source = _copy_model(model_folder, tmp_path / "src")
    if how == "auto_map":
        config = json.loads((source / "config.json").read_text())
        config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
        (source / "config.json").write_text(json.dumps(config))
    else:
        (source / "modeling_evil.py").write_text("import os\nos.system('touch pwned')\n")
    assert_user_error(cli(capsys, "export", source, tmp_path / "target"),
                      r"src: the model ships its own code \(auto_map / \*\.py\), which rerank-fix does not run")
    assert not (tmp_path / "pwned").exists()


def test_export_source_with_a_corrupt_config(model_folder, tmp_path, capsys):
    source = _copy_model(model_folder, tmp_path / "src")
    (source / "config.json").write_text("{broken")
    assert_user_error(cli(capsys, "export", source, tmp_path / "target"), r"config\.json:1: not valid JSON")


def test_export_source_that_is_a_run_without_its_model(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"model_dir": str(run / "best")}))
    assert_user_error(cli(capsys, "export", run, tmp_path / "target"), r"run: the run's model folder .* is missing")


def test_an_output_written_before_manifests_existed_is_still_replaced(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(capsys, "diagnose", "--data", dataset, "--retriever", "both", "--out", out).code == 0
    (out / ".rerank-fix.json").unlink()  # as an older version left it
    assert cli(capsys, "diagnose", "--data", dataset, "--retriever", "bm25", "--out", out).code == 0
    assert not (out / "runs" / "dense.trec").exists() and (out / "runs" / "bm25.trec").is_file()


def test_a_report_json_that_is_not_ours_is_not_taken_for_an_old_output(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text('{"quarter": "Q3", "revenue": 1}')
    assert_user_error(run_command("diagnose", capsys, dataset, out, tmp_path), r"did not write, e\.g\. 'report\.json'")
    assert (out / "report.json").read_text() == '{"quarter": "Q3", "revenue": 1}'


def test_a_killed_exports_temporary_folder_is_removed_by_the_next_export(model_folder, tmp_path):
    """SIGKILL a real export mid-write; the next export (to any target in that folder) removes what it left."""
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "rerank_fix", "export", str(model_folder), str(tmp_path / "a")],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    left = []
    while time.time() < deadline and proc.poll() is None:
        left = [p for p in tmp_path.glob(".a.tmp-*") if (p / "model.safetensors").is_file()]
        if left:
            break
        time.sleep(0.01)
    if not left:
        proc.kill()
        pytest.skip("the export finished before it could be killed mid-write")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert left[0].is_dir() and not (tmp_path / "a").exists()
    size = sum(p.stat().st_size for p in left[0].rglob("*") if p.is_file())
    assert size > 1_000_000  # the weights it had written
    from rerank_fix.export.exporter import export_model

    export_model(model_folder, tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
