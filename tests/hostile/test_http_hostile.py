"""Hostile HTTP peers against the shared client (rerank_fix.net), the LLM rewrite client and the HTTP
rerankers: real servers on 127.0.0.1 that echo credentials, drip bytes, rate-limit and fail."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rerank_fix.cli import main
from rerank_fix.errors import ConfigError
from rerank_fix.net import HttpError, JsonHttpClient, check_env_name, redact
from rerank_fix.rerank.http_base import HttpRerankerConfig, RemoteRerankerError, build_http_reranker
from rerank_fix.rewrite.openai_compat import OpenAIChatClient

SECRET = "sk-hostile-0123456789abcdefXYZ"
KEY_ENV = "RERANK_FIX_HOSTILE_KEY"
MESSAGES = [{"role": "user", "content": "Query: do golddish grow"}]


class Peer(ThreadingHTTPServer):
    """A loopback server whose behaviour per path is a list of scripted replies (the last one repeats)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: dict[str, list] = {}
        self.seen: list[dict] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def next_reply(self, path: str):
        replies = self.script.get(path) or [("json", 404, {"error": "no such route"}, {})]
        return replies.pop(0) if len(replies) > 1 else replies[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        kind, status, payload, headers = self.server.next_reply(self.path)
        if kind == "echo_headers":
            # What a careless gateway does: the whole request, credentials included, in the error body.
            data = json.dumps({"error": "bad request", "request_headers": dict(self.headers)}).encode()
        elif kind == "drip":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9999\r\n\r\n")
            self.wfile.flush()
            try:
                for _ in range(200):  # one byte every half second: per-read timeouts never fire
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        elif kind == "drip_headers":
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        else:
            data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    return KEY_ENV


def chat(text: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


def tei(scores) -> list:
    return [{"index": i, "score": s} for i, s in sorted(enumerate(scores), key=lambda x: -x[1])]


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert SECRET[:12] not in text  # not even a prefix of it
        assert f"Bearer {SECRET}" not in text


# ------------------------------------------------------------------------------------------ redaction
def test_4xx_body_echoing_headers_is_redacted_in_the_warning(peer, keyed, caplog):
    peer.script["/v1/chat/completions"] = [("echo_headers", 400, None, {})]
    client = OpenAIChatClient(peer.url + "/v1", "m", api_key_env=keyed, timeout=5, max_retries=0, cache_dir=None)
    with caplog.at_level(logging.DEBUG):
        out = client.complete_many([MESSAGES])[0]
    client.close()
    assert out.error == "http_400"
    assert peer.seen[0]["headers"]["Authorization"] == f"Bearer {SECRET}"  # the key did go to the server
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("HTTP 400" in w and "request_headers" in w for w in warnings)  # the body is shown ...
    assert any("[REDACTED]" in w for w in warnings)  # ... with the credential cut out
    _no_secret(caplog.text, str(out), repr(client))


def test_reranker_error_message_and_cache_hold_no_key(peer, keyed, tmp_path, caplog):
    peer.script["/rerank"] = [("echo_headers", 403, None, {})]
    reranker = build_http_reranker(HttpRerankerConfig(url=peer.url, api_key_env=keyed, max_retries=0,
                                                      cache_dir=str(tmp_path / "cache")))
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteRerankerError) as info:
        reranker.score([("q", "d1"), ("q", "d2")])
    _no_secret(str(info.value), caplog.text, repr(reranker))
    assert f"${keyed}" in str(info.value)  # the message names the variable, never its value
    peer.script["/rerank"] = [("json", 200, tei([0.5, 0.25]), {})]
    assert reranker.score([("q", "d1"), ("q", "d2")]).tolist() == [0.5, 0.25]
    cached = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert cached and KEY_ENV not in cached
    _no_secret(cached)


def test_custom_api_key_header_is_redacted_too(peer, keyed, caplog):
    peer.script["/v1/rerank"] = [("echo_headers", 400, None, {})]
    reranker = build_http_reranker(HttpRerankerConfig(api="cohere", url=peer.url, model="m", api_key_env=keyed,
                                                      auth_header="api-key", auth_prefix="", max_retries=0))
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteRerankerError):
        reranker.score([("q", "d")])
    assert peer.seen[0]["headers"]["api-key"] == SECRET
    _no_secret(caplog.text)


@pytest.mark.parametrize("text", [
    f"Authorization: Bearer {SECRET}", f'{{"authorization": "Bearer {SECRET}"}}', f"x-api-key={SECRET}",
    f"'Api-Key': '{SECRET}'", f"token is {SECRET} ok", f"https://host/v1?api_key={SECRET}&x=1",
    f"https://user:{SECRET}@host/v1",
])
def test_redact_forms(text):
    assert SECRET not in redact(text)


def test_redact_the_literal_key_value_whatever_its_shape():
    odd = "Zq7Ab2Xc9Wd4Ve1Uf6Tg"
    assert odd not in redact(f"echo: {odd}", secrets=[odd])


# ------------------------------------------------------------------------------------------ api_key_env
@pytest.mark.parametrize("value", [SECRET, "abc123def456ghi789jkl012mno", "Bearer xyz", "my key", "sk-abc"])
def test_api_key_env_holding_a_key_is_refused_without_echo(value):
    with pytest.raises(ConfigError) as info:
        check_env_name(value)
    assert value not in str(info.value) and "NAME of an environment variable" in str(info.value)
    with pytest.raises(ConfigError) as info:
        JsonHttpClient("http://127.0.0.1:9", api_key_env=value)
    assert value not in str(info.value)
    with pytest.raises(ConfigError) as info:
        HttpRerankerConfig.from_dict({"url": "http://127.0.0.1:9", "api_key_env": value})
    assert value not in str(info.value)


@pytest.mark.parametrize("value", ["OPENAI_API_KEY", "COHERE_API_KEY", "my_key_2", None])
def test_api_key_env_names_are_accepted(value):
    assert check_env_name(value) == value


def test_rewrite_cli_refuses_a_pasted_key_and_writes_nothing(tmp_path, capsys):
    from rerank_fix.data import load_eval_set  # noqa: F401 - the demo set ships with the package

    out = tmp_path / "rw"
    code = main(["rewrite", "--data", "demo", "--backend", "openai", "--model", "m",
                 "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", SECRET, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    _no_secret(captured.out, captured.err)
    assert "Traceback" not in captured.err and "api_key_env" in captured.err
    assert not out.exists() or not any(out.rglob("*"))


# ------------------------------------------------------------------------------------------ deadlines
@pytest.mark.parametrize("kind", ["drip", "drip_headers"])
def test_drip_server_is_cut_at_the_whole_request_deadline(peer, kind):
    peer.script["/rerank"] = [(kind, 200, None, {})]
    client = JsonHttpClient(peer.url, timeout=2.0, max_retries=2)
    start = time.monotonic()
    with pytest.raises(HttpError) as info:
        client.post_json("/rerank", {"query": "q", "texts": ["d"]})
    elapsed = time.monotonic() - start
    client.close()
    assert info.value.reason == "timeout"
    assert 1.9 <= elapsed < 3.0, elapsed  # 2 s deadline, not 2 s per byte
    assert client.stats["requests"] == 1  # a timeout is not retried


def test_drip_server_times_out_the_rewrite_client_with_fallback(peer):
    peer.script["/v1/chat/completions"] = [("drip", 200, None, {})]
    client = OpenAIChatClient(peer.url + "/v1", "m", api_key_env=None, timeout=1.5, cache_dir=None)
    start = time.monotonic()
    out = client.complete_many([MESSAGES])[0]
    client.close()
    assert out.error == "timeout" and out.text is None
    assert time.monotonic() - start < 2.5


def test_connection_refused_is_a_clear_reranker_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reranker = build_http_reranker(f"http+tei://127.0.0.1:{port}?timeout=1")
    with pytest.raises(RemoteRerankerError, match="connection_error"):
        reranker.score([("q", "d")])


# ------------------------------------------------------------------------------------------ 429 and 5xx
def test_429_retry_after_is_honoured(peer):
    sleeps: list[float] = []
    peer.script["/rerank"] = [("json", 429, {"error": "slow down"}, {"Retry-After": "1.5"}),
                              ("json", 200, tei([0.9, 0.1]), {})]
    client = JsonHttpClient(peer.url, max_retries=3, sleep=sleeps.append)
    assert client.post_json("/rerank", {}) == tei([0.9, 0.1])
    assert sleeps == [1.5] and client.stats["retries"] == 1 and len(peer.seen) == 2


def test_429_retry_after_as_http_date_and_beyond_the_cap(peer):
    sleeps: list[float] = []
    peer.script["/rerank"] = [("json", 429, {}, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})]
    client = JsonHttpClient(peer.url, max_retries=3, max_retry_wait=30, sleep=sleeps.append)
    with pytest.raises(HttpError) as info:
        client.post_json("/rerank", {})
    assert info.value.reason == "http_429" and "max_retry_wait" in info.value.detail
    assert sleeps == [] and len(peer.seen) == 1  # gave up at once rather than wait for decades


def test_429_really_waits_when_not_recorded(peer):
    peer.script["/rerank"] = [("json", 429, {}, {"Retry-After": "0.4"}), ("json", 200, tei([1.0]), {})]
    reranker = build_http_reranker(HttpRerankerConfig(url=peer.url, max_retries=1))
    start = time.monotonic()
    assert reranker.score([("q", "d")]).tolist() == [1.0]
    assert time.monotonic() - start >= 0.4


def test_5xx_is_retried_with_backoff_then_succeeds(peer):
    sleeps: list[float] = []
    peer.script["/rerank"] = [("json", 500, {}, {}), ("json", 502, {}, {}), ("json", 200, tei([0.3]), {})]
    client = JsonHttpClient(peer.url, max_retries=2, backoff_base=0.01, sleep=sleeps.append)
    assert client.post_json("/rerank", {}) == tei([0.3])
    assert len(sleeps) == 2 and 0.01 <= sleeps[0] <= 0.0125 and 0.02 <= sleeps[1] <= 0.025


def test_persistent_5xx_fails_after_the_retries(peer):
    peer.script["/rerank"] = [("json", 503, {"error": "down"}, {})]
    reranker = build_http_reranker(HttpRerankerConfig(url=peer.url, max_retries=2))
    reranker.client._sleep = lambda s: None
    with pytest.raises(RemoteRerankerError, match="http_503"):
        reranker.score([("q", "d")])
    assert len(peer.seen) == 3


# ------------------------------------------------------------------------------------------ bad answers
@pytest.mark.parametrize("body", [
    b"not json", {"no": "list"}, [{"index": 0}], [{"index": 5, "score": 1.0}], [{"index": 0, "score": "high"}],
    [{"index": 0, "score": 1.0}, {"index": 0, "score": 2.0}], [], [{"index": True, "score": 1.0}],
])
def test_malformed_reranker_answers_are_refused(peer, body):
    peer.script["/rerank"] = [("json", 200, body, {})]
    reranker = build_http_reranker(HttpRerankerConfig(url=peer.url, max_retries=0))
    with pytest.raises(RemoteRerankerError, match="malformed_response"):
        reranker.score([("q", "d")])


def test_oversized_answer_is_refused(peer):
    peer.script["/rerank"] = [("json", 200, b"[" + b" " * 5000 + b"]", {})]
    client = JsonHttpClient(peer.url, max_response_bytes=1000)
    with pytest.raises(HttpError, match="response_too_large"):
        client.post_json("/rerank", {})


# ------------------------------------------------------------------------------------------ cache keys
def test_cache_is_keyed_by_endpoint_and_model(tmp_path):
    first, second = Peer(), Peer()
    try:
        first.script["/v1/chat/completions"] = [("json", 200, chat("from first"), {})]
        second.script["/v1/chat/completions"] = [("json", 200, chat("from second"), {})]
        cache = str(tmp_path / "cache")
        a = OpenAIChatClient(first.url + "/v1", "m", api_key_env=None, cache_dir=cache)
        b = OpenAIChatClient(second.url + "/v1", "m", api_key_env=None, cache_dir=cache)
        assert a.complete_with_info(MESSAGES) == ("from first", False)
        assert a.complete_with_info(MESSAGES) == ("from first", True)
        assert b.complete_with_info(MESSAGES) == ("from second", False)  # another server: not reused
        a.close(), b.close()
    finally:
        for server in (first, second):
            server.shutdown()
            server.server_close()


def test_concurrency_limit_holds(peer):
    peer.script["/rerank"] = [("json", 200, tei([0.5]), {})]
    inflight, peak, lock = [0], [0], threading.Lock()
    original = _Handler.do_POST

    def counting(self):
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        time.sleep(0.1)
        try:
            original(self)
        finally:
            with lock:
                inflight[0] -= 1

    _Handler.do_POST = counting
    try:
        reranker = build_http_reranker(HttpRerankerConfig(url=peer.url, max_documents=1, max_concurrency=2))
        peer.script["/rerank"] = [("json", 200, tei([0.5]), {})]
        assert reranker.score([(f"q{i}", "d") for i in range(6)]).tolist() == [0.5] * 6
    finally:
        _Handler.do_POST = original
    assert peak[0] == 2


def test_credentials_in_a_reranker_url_are_refused_without_echo():
    for url in (f"https://user:{SECRET}@api.example.com", f"https://api.example.com?api_key={SECRET}"):
        with pytest.raises(ConfigError) as info:
            HttpRerankerConfig.from_dict({"api": "cohere", "url": url})
        assert "api_key_env" in str(info.value)
        _no_secret(str(info.value))


def test_cli_log_handler_redacts_a_key_logged_by_anyone(monkeypatch):
    """The CLI's handler filter is a safety net: a key this process read never reaches the terminal."""
    from rerank_fix.cli import _setup_logging
    from rerank_fix.net.secrets import read_api_key

    odd = "Zq7Ab2Xc9Wd4Ve1Uf6Tg-odd-shape"
    monkeypatch.setenv(KEY_ENV, odd)
    assert read_api_key(KEY_ENV) == odd
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        _setup_logging(False)
        record = logging.LogRecord("some.library", logging.WARNING, __file__, 1, "request failed, headers=%s",
                                   ({"X-Custom": odd},), None)
        assert all(handler.filter(record) for handler in root.handlers)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "request failed" in record.getMessage() and odd not in record.getMessage()
