"""``rerank-fix rewrite``: rewrite (spell-correct) queries, write them as a queries file plus a summary."""
from __future__ import annotations

import argparse

BACKENDS = ("spell", "openai", "llamacpp")


def add_parser(subparsers) -> argparse.ArgumentParser:
    from rerank_fix.cli.diagnose import add_data_arguments

    parser = subparsers.add_parser(
        "rewrite", help="rewrite queries (offline spell correction by default, or an LLM) before retrieval",
        description="Rewrite the queries of an eval set and write them as a queries JSONL (same ids; the text is the "
                    "rewrite, metadata gets original_text and rewrite_status) plus a summary JSON. Failures and "
                    "unfit rewrites keep the original query. Settings come from --config (see "
                    "configs/rewrite/default.yaml); the options below override it.")
    add_data_arguments(parser)
    parser.add_argument("--config", default=None, help="rewrite YAML config (default: built-in defaults)")
    parser.add_argument("--backend", default=None,
                        help="spell (default: offline, corpus vocabulary), openai, llamacpp, or module:function "
                             "(a Python callable taking chat messages and returning text)")
    parser.add_argument("--mode", choices=["replace", "fuse"], default=None,
                        help="replace the query, or fuse original and rewrite by RRF downstream (default: replace)")
    parser.add_argument("--domain-hint", default=None, help="what the corpus is, told to LLM backends")
    llm = parser.add_argument_group("LLM backends")
    llm.add_argument("--base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:8000/v1")
    llm.add_argument("--model", default=None, help="model name for --backend openai")
    llm.add_argument("--api-key-env", default=None,
                     help="environment variable holding the API key (default OPENAI_API_KEY; the key is never logged)")
    llm.add_argument("--timeout", type=float, default=None, help="seconds per request (default 30)")
    llm.add_argument("--concurrency", type=int, default=None, help="requests in flight (default 4)")
    llm.add_argument("--cache-dir", default=None, help="answer cache folder (default .cache/rewrite)")
    llm.add_argument("--no-cache", action="store_true", help="do not read or write the answer cache")
    llm.add_argument("--gguf", default=None, help="GGUF model file for --backend llamacpp")
    gate = parser.add_argument_group("which queries to rewrite (default: all)")
    gate.add_argument("--max-query-tokens", type=int, default=None, help="only queries of at most this many tokens")
    gate.add_argument("--typo-gate", action="store_true",
                      help="only queries with words absent from the corpus vocabulary (typo-looking)")
    gate.add_argument("--gate-combine", choices=["any", "all"], default=None,
                      help="with both gates: rewrite queries passing any (default) or all")
    parser.add_argument("--examples", type=int, default=8, help="rewritten queries to print (default 8)")
    parser.add_argument("--out", required=True, help="output folder")
    return parser


def overrides_from_args(args) -> dict:
    """CLI options as a nested dict laid over the YAML config (None: not given)."""
    out: dict = {}
    backend = args.backend
    if backend is not None:
        if backend in BACKENDS:
            out["backend"] = backend
        elif ":" in backend:
            out["backend"] = "callable"
            out["callable"] = {"target": backend}
        else:
            from rerank_fix.errors import ConfigError

            raise ConfigError(f"--backend {backend!r}: choose spell, openai, llamacpp or a Python callable "
                              "written as package.module:function")
    if args.mode is not None:
        out["mode"] = args.mode
    if args.domain_hint is not None:
        out["domain_hint"] = args.domain_hint
    openai = {k: v for k, v in {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env,
                                "timeout": args.timeout, "max_concurrency": args.concurrency,
                                "cache_dir": args.cache_dir}.items() if v is not None}
    llamacpp = {k: v for k, v in {"gguf": args.gguf, "cache_dir": args.cache_dir}.items() if v is not None}
    if args.no_cache:
        openai["cache_dir"] = None
        llamacpp["cache_dir"] = None
    if openai:
        out["openai"] = openai
    if llamacpp:
        out["llamacpp"] = llamacpp
    gate = {k: v for k, v in {"max_tokens": args.max_query_tokens, "combine": args.gate_combine}.items()
            if v is not None}
    if args.typo_gate:
        gate["oov_typo"] = True
    if gate:
        out["gate"] = gate
    return out


def _stem(queries_file: str | None) -> str:
    from pathlib import Path

    if not queries_file:
        return "queries"
    name = Path(queries_file).name
    return name[: -len(".jsonl")] if name.endswith(".jsonl") else Path(name).stem


def run(args) -> int:
    import json
    from pathlib import Path

    from rich.table import Table
    from rich.text import Text

    from rerank_fix.data import load_eval_set
    from rerank_fix.data.jsonl import write_jsonl
    from rerank_fix.report.tables import terminal_console
    from rerank_fix.rewrite.config import load_rewrite_config, rewrite_config_from_dict
    from rerank_fix.rewrite.factory import build_rewriter

    overrides = overrides_from_args(args)
    if args.config:
        config = load_rewrite_config(args.config, overrides)
    else:
        config = rewrite_config_from_dict(overrides, "command-line options")
    from rerank_fix.outputs import claim_output

    # Outputs are named by queries file (queries.typo1.rewritten.jsonl ...), so rewrites of several queries files
    # share a folder: keep the others; this run's own files are replaced atomically.
    out = claim_output(args.out, "rewrite", inputs=[args.data, args.corpus, args.queries, args.config],
                       keep_previous=True)
    eval_set = load_eval_set(args.data, args.split, args.queries, args.corpus)
    rewriter = build_rewriter(config, corpus=eval_set.corpus, show_progress=True)
    try:
        output = rewriter.rewrite(eval_set.queries)
    finally:
        client = getattr(rewriter.backend, "client", None)
        if client is not None:
            client.close()

    out_dir = Path(args.out)
    stem = _stem(args.queries)
    queries_path = out_dir / f"{stem}.rewritten.jsonl"
    summary_path = out_dir / f"{stem}.rewrite_summary.json"
    write_jsonl(queries_path, output.to_jsonl_rows())
    summary = output.summary
    report = {
        "data": str(args.data),
        "eval_set": eval_set.name,
        "queries_file": args.queries,
        "output": str(queries_path),
        "summary": summary.to_dict(),
        "config": config.model_dump(mode="json"),
        "results": [r.to_dict() for r in output],
    }
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.commit()

    console = terminal_console()
    # A heading line rather than a table title: the narrow table would wrap a long title.
    console.print(Text(f"rewrite · {eval_set.name} · {summary.backend} · mode {summary.mode}", style="bold"))
    table = Table(header_style="bold")
    table.add_column("status")
    table.add_column("queries", justify="right")
    table.add_column("share", justify="right")
    for status, n in summary.counts.items():
        table.add_row(Text(status), str(n), f"{n / max(summary.n_queries, 1):.1%}")
    table.add_row(Text("total", style="bold"), str(summary.n_queries), "100.0%")
    console.print(table)
    if summary.latency_ms_p50 == summary.latency_ms_p50:  # not NaN: something was sent to the backend
        cached = f", {summary.n_cached} from cache" if summary.n_cached else ""
        console.print(f"added latency per rewritten-or-attempted query: p50 {summary.latency_ms_p50:.1f} ms, "
                      f"p95 {summary.latency_ms_p95:.1f} ms{cached}")
    changed = [r for r in output if r.changed][: max(args.examples, 0)]
    if changed:
        examples = Table(title="examples", header_style="bold")
        examples.add_column("query id")
        examples.add_column("original")
        examples.add_column("rewritten")
        for r in changed:
            examples.add_row(Text(r.query_id), Text(r.original), Text(r.rewritten))
        console.print(examples)
    console.print(Text.assemble("queries: ", (str(queries_path), "bold"), "   summary: ", (str(summary_path), "bold")))
    return 0
