"""The command line itself: usage mistakes are one line too; a bug is one line (exit 1) with the way to get its
traceback; a few cases run through a real subprocess, exactly as a user's shell sees them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_helpers import CORPUS, ERROR_LINE, assert_user_error, cli, jsonl, snapshot, write_set

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv,pattern", [
    (["diagnose", "--data", "demo", "--out", "x", "--frobnicate"], r"unrecognized arguments: --frobnicate"),
    (["diagnose", "--out", "x"], r"the following arguments are required: --data"),
    (["diagnose", "--data", "demo", "--out", "x", "--rerank-depth", "many"], r"argument --rerank-depth: invalid int value"),
    (["diagnose", "--data", "demo", "--out", "x", "--retriever", "sparse"], r"argument --retriever: invalid choice"),
    (["launch-rockets"], r"argument COMMAND: invalid choice: 'launch-rockets'"),
    (["export"], r"the following arguments are required: source, target"),
])
def test_usage_mistakes_are_one_line(argv, pattern, capsys):
    result = cli(capsys, *argv)
    match = assert_user_error(result, pattern)
    assert "--help" in match.group("fix")


def test_a_bug_is_one_line_with_exit_code_1_and_the_verbose_hint():
    from rerank_fix.cli import describe_failure

    try:
        {}["missing"]
    except KeyError as exc:
        code, line = describe_failure(exc)
    assert code == 1 and "\n" not in line
    assert ERROR_LINE.match("error: " + line)
    assert "internal error (KeyError: 'missing')" in line and "run with --verbose for the traceback" in line


@pytest.mark.parametrize("exc,pattern", [
    (PermissionError(13, "Permission denied", "/data/corpus.jsonl"), r"/data/corpus\.jsonl: Permission denied — check"),
    (IsADirectoryError(21, "Is a directory", "/data/x"), r"/data/x: Is a directory — give a file, not a folder"),
    (UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte"), r"not valid UTF-8 .* — re-save"),
])
def test_os_and_encoding_errors_from_anywhere_are_user_errors(exc, pattern):
    import re

    from rerank_fix.cli import describe_failure

    code, line = describe_failure(exc)
    assert code == 2 and re.search(pattern, line), line


def test_an_escape_sequence_in_an_id_is_not_printed_raw(tmp_path, capsys):
    data = write_set(tmp_path / "data", corpus=[*CORPUS, {"_id": "d\x1b]0;pwned\x07", "text": "x"}])
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    assert_user_error(result, r"document id 'd\\x1b\]0;pwned\\x07' contains an escape")
    assert "\x1b" not in result.err and "\x07" not in result.err


def test_a_message_is_one_line_whatever_the_terminal_width(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    data = write_set(tmp_path / "data", qrels="query-id\tcorpus-id\tscore\nq1\td1\t0.5\n")
    assert_user_error(cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out"),
                      r"not a whole number")


# --- through a real subprocess -----------------------------------------------------------------------------------

def _run(*argv, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(ROOT), "COLUMNS": "60"}
    return subprocess.run([sys.executable, "-m", "rerank_fix", *map(str, argv)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _assert_one_line(proc: subprocess.CompletedProcess, pattern: str, code: int = 2) -> None:
    from hostile_helpers import Result

    assert_user_error(Result(proc.returncode, proc.stdout, proc.stderr), pattern, code=code)


def test_subprocess_latin1_corpus(tmp_path):
    data = write_set(tmp_path / "data", raw_corpus=jsonl(CORPUS).encode() + b'{"_id": "d9", "text": "caf\xe9"}\n')
    _assert_one_line(_run("diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out"),
                     r"corpus\.jsonl:4: byte 0xe9 at byte offset \d+ is not valid UTF-8")


def test_subprocess_alias_bomb_is_refused_within_seconds(tmp_path):
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9))
        + "pipelines: *i\n")
    started = time.perf_counter()
    proc = _run("compare", recipe, "--out", tmp_path / "out")
    _assert_one_line(proc, r"bomb\.yaml:\d+: the document expands to more than")
    assert time.perf_counter() - started < 30


def test_subprocess_export_into_its_own_parent_deletes_nothing(tmp_path):
    project = tmp_path / "out" / "projA"
    (project / "run").mkdir(parents=True)
    (project / "run" / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    (project / "run" / "model.safetensors").write_bytes(b"\0" * 64)
    (project / "notes.txt").write_text("unrelated")
    before = snapshot(tmp_path / "out")
    _assert_one_line(_run("export", project / "run", project, "--force"), r"the export target contains the source")
    assert snapshot(tmp_path / "out") == before


def test_subprocess_verbose_shows_the_traceback(tmp_path):
    data = write_set(tmp_path / "data", qrels="query-id\tcorpus-id\tscore\nq1\td1\tinf\n")
    proc = _run("--verbose", "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "DataError" in proc.stderr
