"""What does a reranker do with distractors? Count, per pipeline of a `rerank-fix compare` report on a stress set
(`rerank-fix mine --stress-set`), how often a distractor is ranked above every positive of its query, by kind
and by stratum, and write a labels file (distractor in the baseline's top DEPTH or not) for a stratified rerun.

    python scripts/distractor_outranking.py STRESS_DIR COMPARE_DIR [--out DIR] [--depth 50] [--baseline dense]

Writes DIR/distractor-outranking.json and DIR/distractor-strata.tsv (DIR defaults to COMPARE_DIR-distractors, beside
the report, so a rerun of compare into COMPARE_DIR never finds files it did not write).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rerank_fix.core.run import Run
from rerank_fix.data.beir import read_qrels, read_queries
from rerank_fix.mine.distractors import distractor_outranking, outranking_summary, read_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stress_dir")
    parser.add_argument("compare_dir")
    parser.add_argument("--depth", type=int, default=50, help="candidate depth examined (default 50)")
    parser.add_argument("--baseline", default="dense", help="stage-one pipeline for the labels file")
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", help="output folder (default: COMPARE_DIR-distractors)")
    args = parser.parse_args(argv)
    stress, compare = Path(args.stress_dir), Path(args.compare_dir)
    out_dir = Path(args.out) if args.out else compare.with_name(compare.name + "-distractors")
    out_dir.mkdir(parents=True, exist_ok=True)
    distractors = read_manifest(stress / "distractors.jsonl")
    qrels = read_qrels(stress / "qrels" / f"{args.split}.tsv")
    groups = {qid: str(q.metadata.get("distractors", "(none)"))
              for qid, q in read_queries(stress / "queries.jsonl").items()}
    runs = {p.stem: Run.from_trec(p) for p in sorted((compare / "runs").glob("*.trec"))}
    if args.baseline not in runs:
        parser.error(f"no run {args.baseline!r} in {compare / 'runs'} (have {', '.join(runs) or 'none'})")
    base = distractor_outranking(runs[args.baseline], qrels, distractors, args.depth)
    labels = {qid: "distractor in top %d" % args.depth if any(row["in_list"].values()) else
              "no distractor in top %d" % args.depth for qid, row in base.items()}
    with open(out_dir / "distractor-strata.tsv", "w", encoding="utf-8") as fh:
        fh.write("query_id\tlabel\n")
        fh.writelines(f"{qid}\t{label}\n" for qid, label in sorted(labels.items()))
    out = {"depth": args.depth, "pipelines": {}}
    print(f"{'pipeline':<22} {'group':<26} {'kind':<16} {'queries':>7} {'outranked':>9} {'rate':>6}")
    for name, run in runs.items():
        rows = outranking_summary(distractor_outranking(run, qrels, distractors, args.depth), groups)
        out["pipelines"][name] = rows
        for row in rows:
            rate = "" if row["rate"] is None else f"{row['rate']:.3f}"
            print(f"{name:<22} {row['group']:<26} {row['kind']:<16} {row['queries']:>7} {row['outranked']:>9} {rate:>6}")
    (out_dir / "distractor-outranking.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"wrote {out_dir / 'distractor-outranking.json'} and {out_dir / 'distractor-strata.tsv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
