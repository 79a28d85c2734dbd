"""Outbound HTTP, built once: whole-request deadlines, bounded retries, a concurrency limit, a disk cache
and secret redaction. Used by the LLM rewrite client and the HTTP reranker backends."""
from __future__ import annotations

from rerank_fix.net.client import HttpError, JsonHttpClient, parse_retry_after
from rerank_fix.net.secrets import check_env_name, read_api_key, redact

__all__ = ["HttpError", "JsonHttpClient", "check_env_name", "parse_retry_after", "read_api_key", "redact"]
