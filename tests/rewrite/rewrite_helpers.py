"""Helpers shared by the rewrite tests (a module of its own so test files can import it)."""
from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
DL19 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "msmarco-dl19-subset"


def chat_body(content, model: str = "test-model") -> dict:
    """A chat-completions response body, as OpenAI / vLLM / Ollama send it."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def last_user_query(request) -> str:
    """The query inside the last user message of a chat request (the default template is 'Query: {query}')."""
    messages = request.get_json()["messages"]
    content = [m for m in messages if m["role"] == "user"][-1]["content"]
    return content.removeprefix("Query: ")


def drain(server, n_requests: int, timeout: float = 5.0) -> None:
    """Wait until ``n_requests`` are in the server log, so a deliberately slow answer that the client gave up on
    finishes inside its own test instead of appearing in the next test's log."""
    import time

    deadline = time.monotonic() + timeout
    while len(server.log) < n_requests and time.monotonic() < deadline:
        time.sleep(0.01)
