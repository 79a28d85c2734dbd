"""`rerank-fix serve` and `rerank_fix.load`, with the project's own HTTP reranker clients as the peers:
scores over loopback equal the local CrossEncoder's, through both route shapes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

import rerank_fix
from rerank_fix.cli import main
from rerank_fix.errors import ConfigError
from rerank_fix.rerank.base import SCORERS
from rerank_fix.rerank.http_base import HttpRerankerConfig, build_http_reranker
from rerank_fix.serve.memory import HeapTrimmer

TOLERANCE = 1e-5


# ------------------------------------------------------------------------------------------ parity
def test_http_client_scores_equal_local_cross_encoder(served, local_model, demo_pairs):
    """Both route shapes (and TEI's raw logits) against the local CrossEncoder on the same pairs."""
    want = {"scores": local_model.predict(demo_pairs, show_progress_bar=False),
            "logits": local_model.predict(demo_pairs, activation_fn=torch.nn.Identity(), show_progress_bar=False)}
    per_query: dict[str, int] = {}
    for query, _ in demo_pairs:
        per_query[query] = per_query.get(query, 0) + 1
    for shape, extra, reference in [("tei /rerank", "", "scores"), ("tei /rerank raw_scores", "&raw_scores=true", "logits"),
                                    ("cohere /v1/rerank", "&model=minilm", "scores")]:
        api = shape.split()[0]
        reranker = build_http_reranker(f"http+{api}://127.0.0.1:{served.port}?max_documents=4{extra}")
        assert type(reranker) is SCORERS.get(f"http-{api}")
        got = reranker.score(demo_pairs)
        diff = float(np.abs(got - want[reference]).max())
        print(f"\nserve parity [{shape}]: {len(demo_pairs)} pairs, max |score - local CrossEncoder| = {diff:.3g}")
        assert diff <= TOLERANCE
        # Documents were split into requests of at most 4 per query.
        assert reranker.client.stats["requests"] == sum(-(-n // 4) for n in per_query.values())


def test_load_in_python_matches_the_server(exported, local_model, served):
    docs = ["To reset your password, open settings.", "Dark mode is a display preference.", "Passwords reset."]
    ranked = rerank_fix.load(exported).rerank("reset my password", docs)
    want = local_model.predict([("reset my password", d) for d in docs])
    assert [i for i, _ in ranked] == list(np.argsort(-want, kind="stable"))
    np.testing.assert_allclose([s for _, s in ranked], np.sort(want)[::-1], atol=TOLERANCE)
    served_answer = httpx.post(served.url + "/rerank", json={"query": "reset my password", "texts": docs}).json()
    assert [r["index"] for r in served_answer] == [i for i, _ in ranked]


def test_cohere_shape_top_n_and_return_documents(served):
    docs = ["alpha doc", "beta doc", "gamma doc"]
    answer = httpx.post(served.url + "/v1/rerank", json={"model": "x", "query": "beta", "documents": docs,
                                                         "top_n": 2, "return_documents": True}).json()
    assert len(answer["results"]) == 2
    for item in answer["results"]:
        assert item["document"]["text"] == docs[item["index"]]
    assert answer["results"][0]["relevance_score"] >= answer["results"][1]["relevance_score"]


def test_health_and_info(served):
    assert httpx.get(served.url + "/health").json() == {"status": "ok"}
    info = httpx.get(served.url + "/info").json()
    assert info["rerankers"]["model"]["backend"] == "torch"
    assert info["policy"]["default"]["action"] == "rerank"
    assert info["versions"]["rerank_fix"] == rerank_fix.__version__ and "torch" in info["versions"]
    assert info["limits"]["max_documents"] == 64


def test_concurrent_requests_are_batched(served, demo_pairs, local_model):
    from concurrent.futures import ThreadPoolExecutor

    before = httpx.get(served.url + "/info").json()["batching"]
    reranker = build_http_reranker(HttpRerankerConfig(url=served.url, max_documents=5, max_concurrency=8))
    got = reranker.score(demo_pairs[:60])
    after = httpx.get(served.url + "/info").json()["batching"]
    per_query: dict[str, int] = {}
    for query, _ in demo_pairs[:60]:
        per_query[query] = per_query.get(query, 0) + 1
    requests = sum(-(-n // 5) for n in per_query.values())
    assert after["jobs"] - before["jobs"] == requests
    assert after["batches"] - before["batches"] < requests  # several requests shared a model call
    if HeapTrimmer().available:  # freed memory went back to the OS after a model call (serve/memory.py)
        assert after["heap_trims"] >= 1
    np.testing.assert_allclose(got, local_model.predict(demo_pairs[:60], show_progress_bar=False), atol=TOLERANCE)
    with ThreadPoolExecutor(4) as pool:  # and the answers go back to the right callers
        answers = list(pool.map(lambda q: httpx.post(served.url + "/rerank", json={"query": q, "texts": [q, "x"]}),
                                ["one", "two", "three", "four"]))
    assert all(a.status_code == 200 and len(a.json()) == 2 for a in answers)


# ------------------------------------------------------------------------------------------ bad requests
BAD_REQUESTS = [
    # (what, route, body, status, message fragment)
    ("empty documents", "/rerank", {"query": "q", "texts": []}, 422, "texts is empty"),
    ("empty documents (cohere)", "/v1/rerank", {"query": "q", "documents": []}, 422, "documents is empty"),
    ("too many documents", "/rerank", {"query": "q", "texts": ["d"] * 65}, 413, "limit is 64"),
    ("too many characters", "/rerank", {"query": "q", "texts": ["x" * 10_000] * 3}, 413, "characters"),
    ("non-string query", "/rerank", {"query": 42, "texts": ["d"]}, 422, "query must be a string, got int"),
    ("blank query", "/v1/rerank", {"query": "  ", "documents": ["d"]}, 422, "query is empty"),
    ("missing query", "/rerank", {"texts": ["d"]}, 422, "missing field 'query'"),
    ("missing documents", "/v1/rerank", {"query": "q"}, 422, "missing field 'documents'"),
    ("non-string document", "/rerank", {"query": "q", "texts": ["d", 3]}, 422, "texts[1] must be a string"),
    ("documents not a list", "/rerank", {"query": "q", "texts": "d"}, 422, "must be a list of strings"),
    ("wrong JSON", "/rerank", b'{"query": "q", "texts": [', 400, "not valid JSON"),
    ("JSON array body", "/v1/rerank", b'["q", "d"]', 400, "must be a JSON object, got a JSON list"),
    ("empty body", "/rerank", b"", 400, "empty body"),
    ("not UTF-8", "/rerank", b'{"query": "\xff"}', 400, "not UTF-8"),
    ("huge body", "/rerank", b'{"query": "q", "texts": ["' + b"x" * 300_000 + b'"]}', 413, "limit is 200000"),
    ("deeply nested JSON", "/rerank", b"[" * 90_000 + b"]" * 90_000, 400, "JSON nested too deeply"),
    ("wrong scores length", "/rerank", {"query": "q", "texts": ["a", "b"], "scores": [1.0]}, 422, "scores must be"),
    ("non-finite score", "/rerank", {"query": "q", "texts": ["a"], "scores": ["nan"]}, 422, "scores[0]"),
    ("bad top_n", "/v1/rerank", {"query": "q", "documents": ["a"], "top_n": 0}, 422, "top_n"),
    ("bad raw_scores", "/rerank", {"query": "q", "texts": ["a"], "raw_scores": "yes"}, 422, "raw_scores"),
]


@pytest.mark.parametrize("what,route,body,status,fragment", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_a_4xx_json_error(served, what, route, body, status, fragment):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(served.url + route, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"error", "error_type"} and fragment in error["error"]
    print(f"\n| {what} | {route} | {status} | {error['error'][:90]} |")
    assert httpx.get(served.url + "/health").status_code == 200  # the server is still fine


# ------------------------------------------------------------------------------------------ routing
@pytest.fixture(scope="module")
def bundle(exported, tmp_path_factory) -> Path:
    """A fix bundle by the serving.json contract: length strata routed to keep / rerank / blend."""
    root = tmp_path_factory.mktemp("bundle")
    (root / "models").mkdir()
    os.symlink(exported, root / "models" / "tuned")
    serving = {
        "format": "rerank-fix-serving/1",
        "stratifier": {"type": "length", "dimension": "length", "upper_bounds": [2, 5]},
        "default": {"action": "keep"},
        "strata": {"len ≤2": {"action": "keep"},
                   "len 3–5": {"action": "rerank", "reranker": "tuned", "depth": 3},
                   "len ≥6": {"action": "blend", "reranker": "tuned", "depth": 4, "stage_one_weight": 0.5}},
        "rerankers": {"tuned": {"path": "models/tuned"}},
    }
    (root / "serving.json").write_text(json.dumps(serving, ensure_ascii=False), encoding="utf-8")
    return root


DOCS = ["Our office is closed on public holidays.", "To reset your password, open settings and choose security.",
        "Passwords can be reset by email.", "The stock market fell sharply.", "Dark mode is a display preference."]
STAGE_ONE = [9.0, 7.0, 6.5, 3.0, 1.0]


def _min_max(values):
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def test_routing_keep_rerank_blend(bundle, local_model):
    dep = rerank_fix.load(bundle)
    # keep: stage-one order and scores, no model call
    assert dep.rerank("password", DOCS, STAGE_ONE) == list(enumerate(STAGE_ONE))
    assert dep.rerank("password", DOCS) == [(i, 1.0 / (i + 1)) for i in range(5)]
    # rerank depth 3: the first three by model score, the last two below them in their order
    query = "reset my account password"
    ce = local_model.predict([(query, d) for d in DOCS[:3]])
    ranked = dep.rerank(query, DOCS, STAGE_ONE)
    assert [i for i, _ in ranked] == [*np.argsort(-ce, kind="stable").tolist(), 3, 4]
    np.testing.assert_allclose([s for _, s in ranked[:3]], np.sort(ce)[::-1], atol=TOLERANCE)
    # blend depth 4, w = 0.5, min-max normalised per query
    query = "how do I reset a forgotten account password quickly"
    ce = local_model.predict([(query, d) for d in DOCS[:4]])
    blended = 0.5 * _min_max(STAGE_ONE[:4]) + 0.5 * _min_max(ce)
    ranked = dep.rerank(query, DOCS, STAGE_ONE)
    assert [i for i, _ in ranked] == [*np.argsort(-blended, kind="stable").tolist(), 4]
    np.testing.assert_allclose([s for _, s in ranked[:4]], np.sort(blended)[::-1], atol=TOLERANCE)
    assert dep.info()["policy"]["strata"]["len ≥6"]["stage_one_weight"] == 0.5


def test_routing_over_http_both_shapes(bundle):
    from rerank_fix.serve import create_app
    from rerank_fix.serve.background import BackgroundServer

    dep = rerank_fix.load(bundle)
    with BackgroundServer(create_app(dep)) as server:
        for query in ("password", "reset my account password", "how do I reset a forgotten account password quickly"):
            want = dep.rerank(query, DOCS, STAGE_ONE)
            tei = httpx.post(server.url + "/rerank", json={"query": query, "texts": DOCS, "scores": STAGE_ONE}).json()
            cohere = httpx.post(server.url + "/v1/rerank",
                                json={"query": query, "documents": DOCS, "scores": STAGE_ONE}).json()["results"]
            assert [(r["index"], pytest.approx(r["score"], abs=TOLERANCE)) for r in tei] == want
            assert [(r["index"], pytest.approx(r["relevance_score"], abs=TOLERANCE)) for r in cohere] == want


@pytest.mark.parametrize("serving,message", [
    ({"format": "other"}, "is not 'rerank-fix-serving/1'"),
    ({"format": "rerank-fix-serving/1", "default": {"action": "rerank", "reranker": "nope"}, "rerankers": {}},
     "reranker 'nope' is not in rerankers"),
    ({"format": "rerank-fix-serving/1", "default": {"action": "shuffle"}}, "expected {\"action\""),
    ({"format": "rerank-fix-serving/1", "default": {"action": "blend", "reranker": "m", "stage_one_weight": 2},
      "rerankers": {"m": {"path": "m"}}}, "stage_one_weight must be"),
    ({"format": "rerank-fix-serving/1", "stratifier": {"type": "typo"}, "default": {"action": "keep"}},
     "vocabulary_file"),
])
def test_malformed_serving_json_is_a_clear_error(tmp_path, serving, message):
    (tmp_path / "serving.json").write_text(json.dumps(serving))
    with pytest.raises(ConfigError, match=None) as info:
        rerank_fix.load(tmp_path)
    assert message in str(info.value)


def test_serve_cli_bad_path_is_one_line_exit_2(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------ the real command
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command_answers_and_shuts_down_gracefully(exported, tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(rerank_fix.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "rerank_fix", "serve", str(exported), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.3)
        answer = httpx.post(f"http://127.0.0.1:{port}/rerank", json={"query": "q", "texts": ["a", "b"]}).json()
        assert sorted(r["index"] for r in answer) == [0, 1]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and f"http://127.0.0.1:{port}" in out


# ------------------------------------------------------------------------------------------ in recipes and diagnose
def test_recipe_http_model_reranks_like_the_local_model(served, exported, tmp_path):
    """`rerank: {model: api}` with `models.api.http` (TEI against serve) gives the local model's ranking."""
    from rerank_fix.pipeline.recipe import load_recipe
    from rerank_fix.pipeline.runner import run_recipe

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(f"""
name: byo-http
data: {{source: demo, max_queries: 8}}
latency: {{sample: 0}}
models:
  api:
    http: {{api: tei, url: "{served.url}", max_documents: 6}}
  local:
    path: "{exported}"
pipelines:
  - name: bm25
    stages: [{{bm25: {{top_k: 20}}}}]
  - name: bm25+api
    stages: [{{bm25: {{top_k: 20}}}}, {{rerank: {{model: api, depth: 8}}}}]
  - name: bm25+local
    stages: [{{bm25: {{top_k: 20}}}}, {{rerank: {{model: local, depth: 8}}}}]
""", encoding="utf-8")
    result = run_recipe(load_recipe(recipe_file), show_progress=False, score_cache=False)
    assert result.models["api"]["source"] == "models.api.http"
    assert result.models["api"]["path"].startswith("http+tei://127.0.0.1:")
    api, local = result.result("bm25+api"), result.result("bm25+local")
    assert api.run.results.keys() == local.run.results.keys() and len(api.run.results) == 8
    for qid in api.run.results:
        assert api.run.ranked_ids(qid) == local.run.ranked_ids(qid)
        np.testing.assert_allclose([s for _, s in api.run.results[qid]], [s for _, s in local.run.results[qid]],
                                   atol=TOLERANCE)


def test_recipe_http_block_is_validated(tmp_path):
    from rerank_fix.pipeline.recipe import load_recipe

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text("""
data: {source: demo}
models:
  api: {http: {api: tei, url: "ftp://nowhere", api_key_env: "sk-abcdefghijklmnopqrstuvwxyz0123"}}
pipelines:
  - name: bm25
    stages: [bm25]
  - name: r
    stages: [bm25, {rerank: {model: api}}]
""", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_recipe(recipe_file)
    message = str(info.value)
    assert "http:// or https://" in message and "NAME of an environment variable" in message
    assert "sk-abcdefghijklmnopqrstuvwxyz0123" not in message


def test_diagnose_cli_with_http_reranker(served, tmp_path, capsys, monkeypatch):
    data = tmp_path / "tiny"
    (data / "qrels").mkdir(parents=True)
    topics = ["reset a password", "rotate an api key", "refund an annual plan", "export data to csv",
              "download past invoices", "enable two factor authentication"]
    with (data / "corpus.jsonl").open("w") as corpus, (data / "queries.jsonl").open("w") as queries:
        for i, topic in enumerate(topics):
            corpus.write(json.dumps({"_id": f"d{i}", "title": topic, "text": f"How to {topic} in a few steps."}) + "\n")
            corpus.write(json.dumps({"_id": f"n{i}", "title": "", "text": f"Notes that mention {topic}."}) + "\n")
            queries.write(json.dumps({"_id": f"q{i}", "text": f"how do I {topic}"}) + "\n")
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" +
                                             "".join(f"q{i}\td{i}\t1\n" for i in range(len(topics))))
    out = tmp_path / "diag"
    code = main(["diagnose", "--data", str(data), "--retriever", "bm25", "--reranker",
                 f"http+tei://127.0.0.1:{served.port}?max_documents=16", "--rerank-depth", "5", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads((out / "report.json").read_text())
    # The same reranker by its name in the project's configs/models.yaml (an http: block).
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "models.yaml").write_text(
        f"models:\n  served:\n    http: {{api: cohere, url: '{served.url}', model: m}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["diagnose", "--data", str(data), "--retriever", "bm25", "--reranker", "served",
                 "--rerank-depth", "5", "--out", str(tmp_path / "diag2")]) == 0
    again = json.loads((tmp_path / "diag2" / "report.json").read_text())
    assert json.dumps(again, sort_keys=True).count("ndcg") == json.dumps(report, sort_keys=True).count("ndcg")
    assert _reranked_ndcg(again) == pytest.approx(_reranked_ndcg(report), abs=1e-9, nan_ok=True)


def _reranked_ndcg(report: dict) -> list[float]:
    """Every number under a key mentioning 'rerank' in a diagnose report (order-stable)."""
    found: list[float] = []

    def walk(node, inside=False):
        if isinstance(node, dict):
            for key in sorted(node):
                walk(node[key], inside or "rerank" in str(key))
        elif isinstance(node, list):
            for item in node:
                walk(item, inside)
        elif inside and isinstance(node, (int, float)) and not isinstance(node, bool):
            found.append(float(node))

    walk(report)
    return found


def test_uri_round_trip():
    config = HttpRerankerConfig.from_uri("https+voyage://api.voyageai.com?model=rerank-2&api_key_env=VOYAGE_KEY"
                                         "&max_documents=50&extra_body=%7B%22truncation%22%3Atrue%7D")
    assert config.resolved()["results_field"] == "data" and config.resolved()["top_n_field"] == "top_k"
    assert HttpRerankerConfig.from_uri(config.to_uri()) == config
    with pytest.raises(ConfigError, match="http\\+tei://"):
        HttpRerankerConfig.from_uri("tei://127.0.0.1:8080")


def test_export_with_onnx_is_served_on_onnx_runtime(exported, local_model, tmp_path):
    """An export holding onnx/model.onnx is scored by ONNX Runtime, like the torch model (float noise apart)."""
    from sentence_transformers import CrossEncoder

    from rerank_fix.rerank.onnx_files import ONNX_FILE, export_onnx

    folder = tmp_path / "with-onnx"
    shutil.copytree(exported, folder)
    export_onnx(CrossEncoder(str(folder)), folder / ONNX_FILE, exporter="legacy")
    dep = rerank_fix.load(folder)
    assert dep.info()["rerankers"]["model"]["backend"] == "onnx"
    docs = ["To reset your password, open settings.", "Dark mode is a display preference.", "Passwords reset."]
    ranked = dict(dep.rerank("reset my password", docs))
    want = local_model.predict([("reset my password", d) for d in docs])
    np.testing.assert_allclose([ranked[i] for i in range(3)], want, atol=1e-4)
    assert rerank_fix.load(folder, backend="torch").info()["rerankers"]["model"]["backend"] == "torch"
