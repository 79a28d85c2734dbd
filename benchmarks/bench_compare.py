"""End-to-end wall time and peak memory of ``rerank-fix compare`` with a cold and then a warm cache.

Cold: an empty ``RERANK_FIX_CACHE`` (no document embeddings; the quick-trained reranker is trained unless
``--model NAME=PATH`` points at one). Warm: the same command again with the cache the cold run filled.
Each run is a separate process, so its peak RSS is its own.

    python benchmarks/bench_compare.py                                   # the demo recipe on the demo data
    python benchmarks/bench_compare.py --recipe recipes/compare-fixes.yaml --data ../shared/data/scifact \\
        --model minilm-quick=/path/to/trained/model

Wall times depend on the machine and its load; cold vs warm on the same machine is the comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from rerank_fix.cli import main
code = main(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"code": code, "seconds": time.perf_counter() - start, "peak_rss_mb": peak}, open(sys.argv[1], "w"))
"""


def run_once(label: str, cli_args: list[str], cache: Path, out: Path) -> dict:
    env = dict(os.environ, RERANK_FIX_CACHE=str(cache), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    stats = out / f"{label}.stats.json"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(stats), *cli_args, "--quiet", "--out", str(out / label)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0 or not stats.is_file():
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{label} run failed (exit {proc.returncode})")
    result = json.loads(stats.read_text())
    report = json.loads((out / label / "report.json").read_text())
    result.update(wall_seconds=wall, phases=report["seconds"], cache=report["cache"],
                  models={k: {"reused": v.get("reused"), "train_seconds": v.get("seconds")}
                          for k, v in report["models"].items()})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="recipes/demo.yaml")
    parser.add_argument("--data", help="--data for the recipe (default: the recipe's own)")
    parser.add_argument("--split")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--max-queries", type=int)
    parser.add_argument("--keep", help="keep caches and reports in this folder (default: a temporary one)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    cli = ["compare", args.recipe]
    if args.data:
        cli += ["--data", args.data]
    if args.split:
        cli += ["--split", args.split]
    for m in args.model:
        cli += ["--model", m]
    if args.max_queries:
        cli += ["--max-queries", str(args.max_queries)]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        cache = base / "cache"
        cold = run_once("cold", cli, cache, base)
        warm = run_once("warm", cli, cache, base)
    print(f"{' '.join(cli)}")
    print(f"{'run':6s} {'wall s':>8s} {'peak RSS MB':>12s}  phases (s)")
    for label, r in (("cold", cold), ("warm", warm)):
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items() if k != "total" and v >= 0.5)
        print(f"{label:6s} {r['wall_seconds']:8.1f} {r['peak_rss_mb']:12.0f}  {phases}")
    print(f"warm/cold wall time: {warm['wall_seconds'] / cold['wall_seconds']:.2f}; "
          f"stage-one cache hits per run: {cold['cache']['stage_one_cache_hits']}/{cold['cache']['stage_one_searches']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cold": cold, "warm": warm}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
