"""Strata by stage-one recall: label each query by the recall@K of a baseline run (a `rerank-fix compare` TREC run),
for a rerun with `--set strata.labels_file=...`. Reranking can only reorder what stage one found, so the rerank
effect should vanish where recall@K is 0 and be largest where the positives sit in the list but not at the top.

    python scripts/stage_one_strata.py RUN.trec QRELS.tsv OUT.tsv [--k 50] [--by recall|rank]

Labels by recall (default): "recall@K = 0", "0 < recall@K < 1", "recall@K = 1". By rank, the rank of the first
positive: "first positive in top 5", "first positive at 6-K", "no positive in top K" (the headroom rule per query:
only the middle group has anything for a reranker to promote into the top 5).
"""
from __future__ import annotations

import argparse
from collections import Counter

from rerank_fix.core.run import Run
from rerank_fix.data.beir import read_qrels
from rerank_fix.evaluate.metrics import recall_at_k


def label(recall: float, k: int) -> str:
    if recall <= 0:
        return f"recall@{k} = 0"
    return f"recall@{k} = 1" if recall >= 1 else f"0 < recall@{k} < 1"


def rank_label(ranked: list[str], judged: dict[str, int], k: int) -> str:
    first = next((i for i, d in enumerate(ranked[:k], start=1) if judged.get(d, 0) > 0), None)
    if first is None:
        return f"no positive in top {k}"
    return "first positive in top 5" if first <= 5 else f"first positive at 6-{k}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("qrels")
    parser.add_argument("out")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--by", choices=["recall", "rank"], default="recall")
    args = parser.parse_args(argv)
    run, qrels = Run.from_trec(args.run), read_qrels(args.qrels)
    labels = {qid: label(recall_at_k(run.ranked_ids(qid), judged, args.k), args.k) if args.by == "recall"
              else rank_label(run.ranked_ids(qid), judged, args.k)
              for qid, judged in qrels.items() if any(g > 0 for g in judged.values())}
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("query_id\tlabel\n")
        fh.writelines(f"{qid}\t{lab}\n" for qid, lab in sorted(labels.items()))
    print(dict(Counter(labels.values())), "->", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
