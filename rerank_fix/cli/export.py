"""``rerank-fix export SOURCE TARGET``: a tuned reranker, verified and documented, ready for production."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export", help="export a fine-tuned reranker (safetensors + model card, optional ONNX/int8)",
        description="Write a fine-tuned run's selected model (or any cross-encoder folder) as safetensors weights, "
                    "tokenizer and config loadable by CrossEncoder(path), with a model card (training config, data "
                    "stats, stratified before/after dev table, optional recipe report and routing policy). The "
                    "folder is written atomically and verified by reloading it and re-scoring sample pairs. "
                    "--onnx/--int8 add ONNX variants that must pass a parity check on the dev split "
                    "(Pearson >= 0.99 with torch scores, nDCG@10 within 0.005).")
    parser.add_argument("source", help="a finished run folder (rerank-fix finetune) or a model folder")
    parser.add_argument("target", help="export folder (refused if it exists, unless --force)")
    parser.add_argument("--force", action="store_true", help="replace an existing target")
    parser.add_argument("--onnx", action="store_true", help="also write onnx/model.onnx (parity-checked)")
    parser.add_argument("--int8", action="store_true",
                        help="also write onnx/model_qint8.onnx, dynamic int8 (parity-checked; implies ONNX export)")
    parser.add_argument("--report", default=None, help="a recipe report.json to summarise in the model card")
    parser.add_argument("--policy", default=None, help="a routing policy JSON to include in the model card")
    parser.add_argument("--dev-data", default=None,
                        help="dev collection for the parity check when SOURCE is a model folder, not a run")
    parser.add_argument("--dev-split", default="dev", help="qrels split of --dev-data (default: dev)")
    parser.add_argument("--parity-queries", type=int, default=100, help="dev queries scored by the parity check")
    parser.add_argument("--max-length", type=int, default=None, help="token limit (default: the run's)")
    parser.add_argument("--exporter", choices=["dynamo", "legacy"], default="dynamo",
                        help="torch ONNX exporter (default dynamo; falls back to legacy if it fails)")
    parser.add_argument("--name", default=None, help="model name in the card (default: the target folder name)")
    return parser


def run(args: argparse.Namespace) -> int:
    from rerank_fix.export.exporter import export_model

    result = export_model(args.source, args.target, force=args.force, onnx=args.onnx, int8=args.int8,
                          report=args.report, policy=args.policy, dev_data=args.dev_data, dev_split=args.dev_split,
                          parity_queries=args.parity_queries, max_length=args.max_length, exporter=args.exporter,
                          name=args.name)
    print(f"exported to {result.target} ({len(result.files)} files); reload check: "
          f"{result.verify['pairs']} pairs, max |Δ| {result.verify['max_abs_diff']:.2e}")
    for p in result.parity:
        print(f"  {p['file']}: Pearson {p['pearson']:.4f}, nDCG@10 {p['ndcg@10_variant']:.4f} vs torch "
              f"{p['ndcg@10_torch']:.4f} on {p['queries']} dev queries - passed")
    return 0
