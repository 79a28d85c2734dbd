"""``rerank-fix serve PATH``: serve an exported reranker or a fix bundle over HTTP (TEI and Cohere routes)."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve", help="serve an exported reranker or a fix bundle over HTTP (TEI /rerank, Cohere /v1/rerank)",
        description="Serve PATH, an exported reranker folder (rerank-fix export: rerank every document) or a fix "
                    "bundle with serving.json (rerank-fix fix: per-query routing to rerank, keep the stage-one "
                    "order, or blend with the request's stage-one scores). Routes: POST /rerank (TEI), "
                    "POST /v1/rerank (Cohere), GET /health, GET /info. Concurrent requests are batched for the "
                    "model; SIGINT/SIGTERM finish in-flight requests before exiting.")
    parser.add_argument("path", help="exported reranker folder or fix bundle folder")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                        help="auto: ONNX Runtime when the export has onnx/model.onnx, else torch")
    parser.add_argument("--max-documents", type=int, default=1000, help="documents per request (default 1000)")
    parser.add_argument("--max-chars", type=int, default=2_000_000,
                        help="characters of query + documents per request (default 2,000,000)")
    parser.add_argument("--max-body-mb", type=float, default=16.0, help="request body limit in MB (default 16)")
    parser.add_argument("--batch-size", type=int, default=32, help="pairs per forward pass (default 32)")
    parser.add_argument("--max-batch-pairs", type=int, default=256,
                        help="pairs gathered from concurrent requests into one model call (default 256)")
    parser.add_argument("--max-wait-ms", type=float, default=2.0,
                        help="how long the first request of a batch waits for company (default 2 ms)")
    return parser


def run(args: argparse.Namespace) -> int:
    from rerank_fix.errors import ConfigError
    from rerank_fix.serve import Limits, run_server

    for name in ("max_documents", "max_chars", "batch_size", "max_batch_pairs"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_body_mb <= 0 or args.max_wait_ms < 0:
        raise ConfigError("--max-body-mb must be positive and --max-wait-ms not negative")
    limits = Limits(max_documents=args.max_documents, max_chars=args.max_chars,
                    max_body_bytes=int(args.max_body_mb * (1 << 20)))
    run_server(args.path, host=args.host, port=args.port, backend=args.backend, limits=limits,
               batch_size=args.batch_size, max_batch_pairs=args.max_batch_pairs, max_wait_ms=args.max_wait_ms)
    return 0
