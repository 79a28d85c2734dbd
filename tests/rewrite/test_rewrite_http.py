"""The OpenAI-compatible client against a real HTTP server on loopback (pytest-httpserver)."""
from __future__ import annotations

import json
import logging
import time

import pytest
from rewrite_helpers import chat_body, drain, last_user_query
from werkzeug import Response

from rerank_fix.rewrite.clients import ChatClientError
from rerank_fix.rewrite.openai_compat import OpenAIChatClient, parse_retry_after
from rerank_fix.rewrite.stage import QueryRewriter

MESSAGES = [{"role": "system", "content": "fix typos"}, {"role": "user", "content": "Query: do golddish grow"}]
PATH = "/v1/chat/completions"


def test_success_sends_chat_completions_request(httpserver, make_client):
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_json(chat_body("do goldfish grow"))
    client = make_client(temperature=0.0, max_tokens=32)
    assert client.complete(MESSAGES) == "do goldfish grow"
    request, _ = httpserver.log[0]
    body = request.get_json()
    assert body["model"] == "test-model"
    assert body["messages"] == MESSAGES
    assert body["max_tokens"] == 32 and body["temperature"] == 0.0 and body["stream"] is False
    assert "Authorization" not in request.headers  # no key configured: none sent
    assert client.stats["requests"] == 1 and client.stats["retries"] == 0


def test_429_honours_retry_after_then_succeeds(httpserver, make_client, recorded_sleeps):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "2"})
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(chat_body("do goldfish grow"))
    client = make_client()
    assert client.complete(MESSAGES) == "do goldfish grow"
    assert len(httpserver.log) == 2
    # The server's Retry-After wins over the tiny exponential backoff.
    assert recorded_sleeps == [2.0]
    assert client.stats["retries"] == 1


def test_retry_after_beyond_limit_falls_back_without_waiting(httpserver, make_client, recorded_sleeps):
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        "quota", status=429, headers={"Retry-After": "3600"})
    client = make_client(max_retry_wait=10)
    out = client.complete_many([MESSAGES])[0]
    assert out.error == "http_429" and out.text is None
    assert recorded_sleeps == [] and len(httpserver.log) == 1


def test_500_then_success_uses_exponential_backoff(httpserver, make_client, recorded_sleeps):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("oops", status=503)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(chat_body("do goldfish grow"))
    client = make_client(max_retries=2, backoff_base=0.001, backoff_max=1.0)
    assert client.complete(MESSAGES) == "do goldfish grow"
    assert len(httpserver.log) == 3
    assert len(recorded_sleeps) == 2
    # Doubling with at most 25% jitter: attempt 0 in [1, 1.25] ms, attempt 1 in [2, 2.5] ms.
    assert 0.001 <= recorded_sleeps[0] <= 0.00125 and 0.002 <= recorded_sleeps[1] <= 0.0025


def test_persistent_500_falls_back_after_retries(httpserver, make_client):
    httpserver.expect_request(PATH, method="POST").respond_with_data("down", status=500)
    client = make_client(max_retries=2)
    out = client.complete_many([MESSAGES])[0]
    assert out.error == "http_500"
    assert len(httpserver.log) == 3  # first try + 2 retries


def test_timeout_falls_back(httpserver, make_client):
    def slow(request):
        time.sleep(0.6)
        return Response(json.dumps(chat_body("too late")), content_type="application/json")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(slow)
    client = make_client(timeout=0.2)
    with pytest.raises(ChatClientError) as info:
        client.complete(MESSAGES)
    assert info.value.reason == "timeout"
    assert client.stats["requests"] == 1  # a timeout is not retried
    drain(httpserver, 1)


@pytest.mark.parametrize("body", ["this is not json {", json.dumps({"object": "error"}),
                                  json.dumps({"choices": []}), json.dumps({"choices": [{"message": {"content": 3}}]})])
def test_malformed_response_falls_back(httpserver, make_client, body):
    httpserver.expect_request(PATH, method="POST").respond_with_data(body, content_type="application/json")
    out = make_client().complete_many([MESSAGES])[0]
    assert (out.text, out.error) == (None, "malformed_response")


@pytest.mark.parametrize("content", ["", "   \n", None])
def test_empty_content_falls_back(httpserver, make_client, content):
    httpserver.expect_request(PATH, method="POST").respond_with_json(chat_body(content))
    out = make_client().complete_many([MESSAGES])[0]
    assert (out.text, out.error) == (None, "empty_response")


def test_connection_refused_falls_back(closed_port, recorded_sleeps):
    client = OpenAIChatClient(f"http://127.0.0.1:{closed_port}/v1", "test-model", api_key_env=None, timeout=0.3,
                              max_retries=2, cache_dir=None, sleep=recorded_sleeps.append)
    try:
        out = client.complete_many([MESSAGES, MESSAGES])
    finally:
        client.close()
    assert [o.error for o in out] == ["connection_error", "connection_error"]
    assert recorded_sleeps == []


def test_api_key_sent_in_header_but_never_logged(httpserver, make_client, monkeypatch, caplog, tmp_path):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("RERANK_FIX_TEST_KEY", secret)
    httpserver.expect_ordered_request(PATH, method="POST", headers={"Authorization": f"Bearer {secret}"}) \
        .respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(PATH, method="POST", headers={"Authorization": f"Bearer {secret}"}) \
        .respond_with_json(chat_body("do goldfish grow"))
    httpserver.expect_request(PATH, method="POST").respond_with_data("nope", status=401)
    caplog.set_level(logging.DEBUG)
    client = make_client(api_key_env="RERANK_FIX_TEST_KEY", cache_dir=str(tmp_path / "cache"))
    assert client.has_api_key
    assert client.complete(MESSAGES) == "do goldfish grow"
    failed = client.complete_many([[{"role": "user", "content": "another query"}]])[0]
    assert failed.error == "http_401"
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {secret}"
    assert "RERANK_FIX_TEST_KEY" in repr(client)
    for text in (repr(client), str(client), caplog.text, str(failed)):
        assert secret not in text
    cached = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert cached and secret not in cached
    assert any("HTTP 503" in r.getMessage() for r in caplog.records)  # the retry was logged, without the key


def test_missing_key_env_sends_no_key(httpserver, make_client, monkeypatch, caplog):
    monkeypatch.delenv("RERANK_FIX_TEST_MISSING_KEY", raising=False)
    httpserver.expect_request(PATH, method="POST").respond_with_json(chat_body("ok query"))
    with caplog.at_level(logging.WARNING, logger="rerank_fix.rewrite"):
        client = make_client(api_key_env="RERANK_FIX_TEST_MISSING_KEY")
    assert "RERANK_FIX_TEST_MISSING_KEY is not set" in caplog.text
    assert client.complete(MESSAGES) == "ok query"
    assert "Authorization" not in httpserver.log[0][0].headers


def test_cache_avoids_second_http_call(httpserver, make_client, tmp_path):
    httpserver.expect_request(PATH, method="POST").respond_with_json(chat_body("do goldfish grow"))
    cache_dir = tmp_path / "cache"
    client = make_client(cache_dir=str(cache_dir))
    first = client.complete_many([MESSAGES])[0]
    second = client.complete_many([MESSAGES])[0]
    assert (first.text, first.cached) == ("do goldfish grow", False)
    assert (second.text, second.cached) == ("do goldfish grow", True)
    assert len(httpserver.log) == 1
    # A new client (new process) reads the same cache; another model does not share it.
    again = make_client(cache_dir=str(cache_dir))
    assert again.complete_with_info(MESSAGES) == ("do goldfish grow", True)
    other = make_client(cache_dir=str(cache_dir), model="other-model")
    assert other.complete_with_info(MESSAGES) == ("do goldfish grow", False)
    assert len(httpserver.log) == 2


def test_failures_are_not_cached(httpserver, make_client, tmp_path):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(chat_body(""))
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(chat_body("do goldfish grow"))
    client = make_client(cache_dir=str(tmp_path / "cache"))
    assert client.complete_many([MESSAGES])[0].error == "empty_response"
    assert client.complete_many([MESSAGES])[0].text == "do goldfish grow"
    assert len(httpserver.log) == 2


def test_concurrent_batch_keeps_input_order(httpserver, make_client):
    httpserver.expect_request(PATH, method="POST").respond_with_handler(
        lambda request: Response(json.dumps(chat_body(last_user_query(request).upper())),
                                 content_type="application/json"))
    client = make_client(max_concurrency=4)
    batch = [[{"role": "user", "content": f"Query: query number {i}"}] for i in range(12)]
    outputs = client.complete_many(batch)
    assert [o.text for o in outputs] == [f"QUERY NUMBER {i}" for i in range(12)]
    assert len(httpserver.log) == 12


def test_stage_never_loses_a_query(httpserver, make_client):
    """Every failure mode in one batch: each query keeps its original text and is counted by reason."""

    def handler(request):
        query = last_user_query(request)
        if "slow" in query:
            time.sleep(0.6)
        if "crash" in query:
            return Response("internal error", status=500)
        if "garbled" in query:
            return Response("{not json", content_type="application/json")
        if "silent" in query:
            return Response(json.dumps(chat_body("")), content_type="application/json")
        if "chatty" in query:
            return Response(json.dumps(chat_body("I'm sorry, I cannot help with that request.")),
                            content_type="application/json")
        fixed = query.replace("golddish", "goldfish").replace("wifj", "wifi")
        return Response(json.dumps(chat_body(f'Rewritten query: "{fixed}"')), content_type="application/json")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    client = make_client(timeout=0.2, max_retries=1)
    queries = {"a": "do golddish grow", "b": "slow golddish", "c": "crash wifj", "d": "garbled wifj",
               "e": "silent golddish", "f": "chatty golddish", "g": "what is wifj vs bluetooth",
               "h": "goldfish tank size"}
    out = QueryRewriter(client).rewrite(queries)
    assert list(out.results) == list(queries)
    status = {qid: r.status for qid, r in out.results.items()}
    assert status == {"a": "rewritten", "b": "fallback:timeout", "c": "fallback:http_500",
                      "d": "fallback:malformed_response", "e": "fallback:empty_response",
                      "f": "rejected:no_overlap", "g": "rewritten", "h": "unchanged"}
    texts = out.texts()
    assert texts["a"] == "do goldfish grow" and texts["g"] == "what is wifi vs bluetooth"
    for qid in "bcdefh":
        assert texts[qid] == queries[qid]
    assert out.summary.counts["fallback:timeout"] == 1
    assert out.summary.by_kind == {"rewritten": 2, "unchanged": 1, "rejected": 1, "fallback": 4, "skipped": 0}
    assert out.summary.latency_ms_p95 >= out.summary.latency_ms_p50 > 0
    drain(httpserver, len(queries))


def test_parse_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    http_date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after(http_date, now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after(http_date, now=1445412490.0) == 0.0


def test_bad_settings_are_config_errors():
    from rerank_fix.errors import ConfigError

    with pytest.raises(ConfigError, match="http:// or https://"):
        OpenAIChatClient("localhost:8000", "m", api_key_env=None)
    with pytest.raises(ConfigError, match="model name"):
        OpenAIChatClient("http://localhost:8000/v1", "", api_key_env=None)


def test_none_settings_are_left_out_and_extra_body_is_sent(httpserver, make_client):
    httpserver.expect_request(PATH, method="POST").respond_with_json(chat_body("do goldfish grow"))
    client = make_client(temperature=None, max_tokens=None, extra_body={"max_completion_tokens": 20})
    assert client.complete(MESSAGES) == "do goldfish grow"
    body = httpserver.log[0][0].get_json()
    assert "temperature" not in body and "max_tokens" not in body
    assert body["max_completion_tokens"] == 20


def test_client_error_is_explained_once(httpserver, make_client, caplog):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"error": {"message": "Unsupported parameter: 'max_tokens'"}}, status=400)
    client = make_client()
    with caplog.at_level(logging.WARNING, logger="rerank_fix.rewrite"):
        outputs = client.complete_many([MESSAGES] * 3)
    assert [o.error for o in outputs] == ["http_400"] * 3
    warnings = [r.getMessage() for r in caplog.records if "HTTP 400" in r.getMessage()]
    assert len(warnings) == 1 and "Unsupported parameter" in warnings[0]
    # A 400 is not retried. Count 400s only: under load a slow request of an earlier test can still be logged here.
    assert sum(response.status_code == 400 for _, response in httpserver.log) == 3
