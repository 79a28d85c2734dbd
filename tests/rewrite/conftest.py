from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from rewrite_helpers import DATA


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    lines = (DATA / "sentences.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


@pytest.fixture(scope="session")
def vocab(sentences):
    from rerank_fix.rewrite.vocab import Vocabulary

    return Vocabulary.from_texts(sentences)


@pytest.fixture(scope="session")
def make_httpserver():
    """Overrides the plugin's server: threaded, so a deliberately slow answer cannot hold up the next request."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def recorded_sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(httpserver, tmp_path, recorded_sleeps):
    """OpenAIChatClient against the loopback server, with short timeouts and recorded (not slept) backoffs."""
    from rerank_fix.rewrite.openai_compat import OpenAIChatClient

    clients = []

    def factory(**overrides):
        options = dict(base_url=httpserver.url_for("/v1"), model="test-model", api_key_env=None, timeout=0.3,
                       max_retries=2, backoff_base=0.001, backoff_max=0.01, max_concurrency=1, cache_dir=None,
                       sleep=recorded_sleeps.append)
        options.update(overrides)
        client = OpenAIChatClient(**options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def beir_folder(tmp_path, sentences) -> Path:
    """A small BEIR folder built from the real sentences: one document per sentence, typo queries with qrels."""
    folder = tmp_path / "mini"
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for i, sentence in enumerate(sentences):
            handle.write(json.dumps({"_id": f"d{i}", "title": "", "text": sentence}) + "\n")
    by_text = {s: f"d{i}" for i, s in enumerate(sentences)}

    def doc_containing(fragment: str) -> str:
        return next(by_text[s] for s in sentences if fragment in s.lower())

    queries = [
        ("q1", "do golddish grow", "goldfish grow to fit"),
        ("q2", "what is wifj vs bluetooth", "wifi and bluetooth are both"),
        ("q3", "right plevic pain causes", "pelvic pain on the right"),
        ("q4", "what are the soical determinants of health", "the social determinants of health are"),
        ("q5", "how are some sharks warm blooded", "some sharks, such as the great white"),
        ("q6", "set retention to 14d in the v2 api", "set the retention to 14d"),
    ]
    with (folder / "queries.typo.jsonl").open("w", encoding="utf-8") as handle:
        for qid, text, _ in queries:
            handle.write(json.dumps({"_id": qid, "text": text, "metadata": {"segment": "web"}}) + "\n")
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for qid, _, fragment in queries:
            handle.write(f"{qid}\t{doc_containing(fragment)}\t1\n")
    return folder
