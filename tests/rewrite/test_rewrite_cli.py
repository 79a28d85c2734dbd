"""``rerank-fix rewrite`` end to end on a small BEIR folder of real sentences."""
from __future__ import annotations

import importlib.util
import json

import pytest
from rewrite_helpers import chat_body, last_user_query
from werkzeug import Response

from rerank_fix.cli import main
from rerank_fix.data import load_eval_set


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_spell_backend_writes_queries_and_summary(beir_folder, tmp_path, capsys):
    out = tmp_path / "rw"
    code = main(["rewrite", "--data", str(beir_folder), "--queries", "queries.typo.jsonl", "--backend", "spell",
                 "--out", str(out)])
    assert code == 0
    rows = _read_jsonl(out / "queries.typo.rewritten.jsonl")
    source = {r["_id"]: r for r in _read_jsonl(beir_folder / "queries.typo.jsonl")}
    assert [r["_id"] for r in rows] == list(source)
    by_id = {r["_id"]: r for r in rows}
    assert by_id["q1"]["text"] == "do goldfish grow"
    assert by_id["q1"]["metadata"] == {"segment": "web", "original_text": "do golddish grow",
                                       "rewrite_status": "rewritten"}
    assert by_id["q6"]["text"] == source["q6"]["text"]  # ids and numbers untouched
    assert by_id["q6"]["metadata"]["rewrite_status"] == "unchanged"
    report = json.loads((out / "queries.typo.rewrite_summary.json").read_text(encoding="utf-8"))
    assert sum(report["summary"]["counts"].values()) == len(rows)
    assert report["summary"]["counts"]["rewritten"] == sum(r["metadata"]["rewrite_status"] == "rewritten" for r in rows)
    assert report["config"]["backend"] == "spell"
    assert len(report["results"]) == len(rows)
    printed = capsys.readouterr().out
    assert "rewritten" in printed and "do goldfish grow" in printed
    # The output is an ordinary queries file: evaluate the rewritten queries with the same qrels.
    rewritten_set = load_eval_set(beir_folder, queries_file=str(out / "queries.typo.rewritten.jsonl"))
    assert rewritten_set.queries["q1"].text == "do goldfish grow"


def test_gates_from_the_command_line(beir_folder, tmp_path):
    out = tmp_path / "rw"
    assert main(["rewrite", "--data", str(beir_folder), "--queries", "queries.typo.jsonl", "--max-query-tokens", "4",
                 "--out", str(out)]) == 0
    status = {r["_id"]: r["metadata"]["rewrite_status"] for r in _read_jsonl(out / "queries.typo.rewritten.jsonl")}
    assert status["q1"] == "rewritten" and status["q3"] == "rewritten"
    assert status["q2"] == "skipped" and status["q4"] == "skipped"


def test_openai_backend_against_loopback_server(beir_folder, tmp_path, httpserver, monkeypatch, capsys):
    secret = "sk-cli-secret-42"
    monkeypatch.setenv("RW_CLI_KEY", secret)

    def handler(request):
        assert request.headers["Authorization"] == f"Bearer {secret}"
        query = last_user_query(request)
        if "plevic" in query:
            return Response("busy", status=500)
        return Response(json.dumps(chat_body(f"Rewritten query: {query.replace('golddish', 'goldfish')}")),
                        content_type="application/json")

    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(handler)
    config = tmp_path / "rewrite.yaml"
    # The YAML holds what has no flag (fast retries); the flags override the rest.
    config.write_text("backend: spell\nopenai:\n  model: from-yaml\n  max_retries: 1\n  backoff_base: 0.001\n",
                      encoding="utf-8")
    out = tmp_path / "rw"
    code = main(["rewrite", "--data", str(beir_folder), "--queries", "queries.typo.jsonl", "--config", str(config),
                 "--backend", "openai", "--base-url", httpserver.url_for("/v1"), "--model", "tiny",
                 "--api-key-env", "RW_CLI_KEY", "--timeout", "0.5", "--cache-dir", str(tmp_path / "cache"),
                 "--mode", "fuse", "--out", str(out)])
    assert code == 0
    rows = {r["_id"]: r for r in _read_jsonl(out / "queries.typo.rewritten.jsonl")}
    assert rows["q1"]["text"] == "do goldfish grow"
    assert rows["q3"]["text"] == "right plevic pain causes"
    assert rows["q3"]["metadata"]["rewrite_status"] == "fallback:http_500"
    summary_text = (out / "queries.typo.rewrite_summary.json").read_text(encoding="utf-8")
    summary = json.loads(summary_text)
    assert summary["summary"]["mode"] == "fuse" and summary["summary"]["backend"] == "openai:tiny"
    assert summary["config"]["openai"]["api_key_env"] == "RW_CLI_KEY"
    assert summary["config"]["openai"]["max_retries"] == 1
    assert sum(1 for request, _ in httpserver.log if "plevic" in request.get_data(as_text=True)) == 2
    assert secret not in summary_text and secret not in capsys.readouterr().out


def test_callable_backend_by_module_path(beir_folder, tmp_path, monkeypatch):
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "my_rewriter.py").write_text(
        "def fix(messages):\n"
        "    query = messages[-1]['content'].removeprefix('Query: ')\n"
        "    return query.replace('wifj', 'wifi')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(module_dir))
    out = tmp_path / "rw"
    assert main(["rewrite", "--data", str(beir_folder), "--queries", "queries.typo.jsonl",
                 "--backend", "my_rewriter:fix", "--out", str(out)]) == 0
    rows = {r["_id"]: r for r in _read_jsonl(out / "queries.typo.rewritten.jsonl")}
    assert rows["q2"]["text"] == "what is wifi vs bluetooth"
    assert rows["q1"]["metadata"]["rewrite_status"] == "unchanged"


@pytest.mark.parametrize("args,message", [
    (["--backend", "gpt4"], "choose spell, openai, llamacpp"),
    (["--backend", "openai"], "needs openai.model"),
    (["--backend", "no_such_module_xyz:fn"], "cannot import module"),
    (["--config", "missing.yaml"], "not found"),
])
def test_user_errors_are_one_line_messages(beir_folder, tmp_path, capsys, args, message):
    code = main(["rewrite", "--data", str(beir_folder), "--queries", "queries.typo.jsonl", *args,
                 "--out", str(tmp_path / "rw")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python is installed")
def test_llamacpp_without_extra(beir_folder, tmp_path, capsys):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    code = main(["rewrite", "--data", str(beir_folder), "--queries", "queries.typo.jsonl", "--backend", "llamacpp",
                 "--gguf", str(gguf), "--out", str(tmp_path / "rw")])
    assert code == 2
    assert "pip install rerank-fix[llamacpp]" in capsys.readouterr().err
