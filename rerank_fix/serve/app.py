"""The HTTP app: TEI-compatible ``/rerank``, Cohere-compatible ``/v1/rerank``, ``/health`` and ``/info``.

Bad requests get a JSON error ``{"error": "...", "error_type": "..."}`` that says what is wrong: 400 for a
body that is not a JSON object, 413 for too many documents / characters / bytes, 422 for fields of the
wrong type or value. Requests may carry stage-one ``scores`` (used by a ``blend`` action) and query
``metadata`` (used by a metadata stratifier); both are optional extensions of the two wire formats.
"""

import json
import math
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rerank_fix.errors import UserInputError
from rerank_fix.serve.batcher import MicroBatcher

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rerank_fix.deploy import Deployment


@dataclass(frozen=True)
class Limits:
    """Per-request limits.

    Args:
        max_documents: Documents in one request.
        max_chars: Characters of query + documents together.
        max_body_bytes: Size of the request body.
    """

    max_documents: int = 1000
    max_chars: int = 2_000_000
    max_body_bytes: int = 16 << 20


class RequestError(Exception):
    def __init__(self, status: int, message: str, kind: str = "validation") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


def _documents(value: Any, field: str) -> list[str]:
    if not isinstance(value, list):
        raise RequestError(422, f"{field} must be a list of strings, got {type(value).__name__}")
    out = []
    for i, doc in enumerate(value):
        if isinstance(doc, dict) and isinstance(doc.get("text"), str):
            doc = doc["text"]  # Cohere / Pinecone style {"text": ...} documents
        if not isinstance(doc, str):
            raise RequestError(422, f"{field}[{i}] must be a string, got {type(doc).__name__}")
        out.append(doc)
    return out


def parse_request(body: dict[str, Any], documents_field: str, limits: Limits) -> dict[str, Any]:
    """Validate the fields every route shares; returns query, documents, scores, metadata."""
    if "query" not in body:
        raise RequestError(422, "missing field 'query'")
    query = body["query"]
    if not isinstance(query, str):
        raise RequestError(422, f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise RequestError(422, "query is empty")
    if documents_field not in body:
        raise RequestError(422, f"missing field {documents_field!r} (the list of documents to rerank)")
    raw_docs = body[documents_field]
    if isinstance(raw_docs, list) and len(raw_docs) > limits.max_documents:
        raise RequestError(413, f"{len(raw_docs)} documents in one request; the limit is {limits.max_documents} "
                                "- split the list into several requests", "too_large")
    documents = _documents(raw_docs, documents_field)
    if not documents:
        raise RequestError(422, f"{documents_field} is empty: send at least one document")
    chars = len(query) + sum(len(d) for d in documents)
    if chars > limits.max_chars:
        raise RequestError(413, f"{chars} characters in query and documents; the limit is {limits.max_chars}",
                           "too_large")
    scores = body.get("scores")
    if scores is not None:
        if not isinstance(scores, list) or len(scores) != len(documents):
            raise RequestError(422, f"scores must be a list of {len(documents)} numbers, one per document")
        for i, s in enumerate(scores):
            if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
                raise RequestError(422, f"scores[{i}] must be a finite number")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestError(422, "metadata must be an object")
    return {"query": query, "documents": documents, "scores": scores, "metadata": metadata}


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(422, f"{name} must be true or false, got {type(value).__name__}")
    return value


def create_app(deployment: "Deployment", limits: Limits | None = None, max_batch_pairs: int = 256,
               max_wait_ms: float = 2.0) -> "FastAPI":
    """The FastAPI app serving ``deployment``.

    Example:
        >>> import uvicorn, rerank_fix                                                   # doctest: +SKIP
        >>> uvicorn.run(create_app(rerank_fix.load("exported/minilm")), port=8080)     # doctest: +SKIP
    """
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    limits = limits or Limits()
    batcher = MicroBatcher(deployment.scorers, max_pairs=max_batch_pairs, max_wait=max_wait_ms / 1000)
    started = time.time()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()  # in-flight requests finish before the model goes away

    app = FastAPI(title="rerank-fix serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher
    app.state.limits = limits

    def error(status: int, message: str, kind: str) -> JSONResponse:
        return JSONResponse({"error": message, "error_type": kind}, status_code=status)

    async def read_body(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise RequestError(413, f"body of {declared} bytes; the limit is {limits.max_body_bytes}", "too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise RequestError(413, f"body over {limits.max_body_bytes} bytes", "too_large")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            raise RequestError(400, "empty body: send a JSON object", "invalid_json")
        try:
            body = json.loads(raw)
        except UnicodeDecodeError:
            raise RequestError(400, "body is not UTF-8 JSON", "invalid_json") from None
        except RecursionError:
            raise RequestError(400, "JSON nested too deeply", "invalid_json") from None
        except ValueError as exc:
            raise RequestError(400, f"body is not valid JSON ({exc})", "invalid_json") from None
        if not isinstance(body, dict):
            raise RequestError(400, f"body must be a JSON object, got a JSON {type(body).__name__}", "invalid_json")
        return body

    async def rank(parsed: dict[str, Any], raw: bool) -> list[tuple[int, float]]:
        try:
            deployment.check(parsed["query"], parsed["documents"], parsed["scores"])
        except UserInputError as exc:
            raise RequestError(422, str(exc)) from None
        decision = deployment.decide(parsed["query"], parsed["metadata"])
        pairs = deployment.pairs(decision, parsed["query"], parsed["documents"])
        model_scores = await batcher.score(decision.action.reranker, pairs, raw) if pairs else None
        return deployment.order(decision, len(parsed["documents"]), model_scores, parsed["scores"])

    @app.exception_handler(RequestError)
    async def _request_error(_request: Request, exc: RequestError) -> JSONResponse:
        return error(exc.status, exc.message, exc.kind)

    @app.post("/rerank")
    async def tei_rerank(request: Request):
        body = await read_body(request)
        parsed = parse_request(body, "texts", limits)
        raw = _flag(body, "raw_scores", False)
        return_text = _flag(body, "return_text", False)
        _flag(body, "truncate", True)  # inputs are always truncated to the model's max length
        ranked = await rank(parsed, raw)
        return [{"index": i, "score": s, **({"text": parsed["documents"][i]} if return_text else {})}
                for i, s in ranked]

    @app.post("/v1/rerank")
    async def cohere_rerank(request: Request):
        body = await read_body(request)
        parsed = parse_request(body, "documents", limits)
        top_n = body.get("top_n")
        if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
            raise RequestError(422, f"top_n must be a positive integer, got {top_n!r}")
        return_documents = _flag(body, "return_documents", False)
        ranked = await rank(parsed, False)
        results = [{"index": i, "relevance_score": s,
                    **({"document": {"text": parsed["documents"][i]}} if return_documents else {})}
                   for i, s in ranked[:top_n]]
        return {"id": str(uuid.uuid4()), "results": results,
                "meta": {"billed_units": {"search_units": 1}}}

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/info")
    async def info():
        return {**deployment.info(), "limits": limits.__dict__, "batching": {**batcher.stats,
                "max_batch_pairs": max_batch_pairs, "max_wait_ms": max_wait_ms,
                "heap_trims": batcher.trimmer.trims if batcher.trimmer else None},
                "uptime_s": round(time.time() - started, 1)}

    return app
