"""How many hidden positives does `rerank-fix mine --audit` surface? Hide the last positive of every
multi-positive scifact-train query, mine with the default settings and the audit on, and count where each
hidden positive ended up (top 3, audited, mined as a negative, beyond the window).

    python scripts/audit_hidden_positives.py runs/audit-hidden   # needs ../shared/data/scifact
"""
import dataclasses
import json
import sys
import time
from pathlib import Path

from rerank_fix.data import load_eval_set
from rerank_fix.mine.config import MineConfig
from rerank_fix.mine.miner import HardNegativeMiner

data = load_eval_set(str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"), split="train")
hidden, qrels = {}, {}
for qid, judged in sorted(data.qrels.items()):
    pos = sorted(d for d, g in judged.items() if g > 0)
    if len(pos) >= 2:
        hidden[qid] = pos[-1]
        qrels[qid] = {d: g for d, g in judged.items() if d != pos[-1]}
print("multi-positive queries:", len(hidden), "of", len(data.qrels))
sub = dataclasses.replace(data, qrels=qrels)
t = time.time()
res = HardNegativeMiner(MineConfig(audit=True), show_progress=False).mine(sub)
paths = res.write(sys.argv[1], plot=False)
print("mined in", round(time.time() - t, 1), "s", paths["audit"])
# where did each hidden positive end up?
from rerank_fix.retrieve.dense import DenseRetriever
surfaced = {(s.query_id, s.doc_id): s.reason for s in res.audit}
negs = {(r.query_id, d) for r in res.records for d in r.neg_ids}
dense = DenseRetriever(show_progress=False); dense.index(data.corpus)
run = dense.search({q: data.queries[q].text for q in hidden}, k=100)
out = {"top3": 0, "window": 0, "beyond100": 0, "surfaced": 0, "leaked_as_negative": 0, "in_window_not_surfaced_not_used": 0}
reasons = {}
for q, d in hidden.items():
    ranked = run.ranked_ids(q)
    r = ranked.index(d) + 1 if d in ranked else None
    if r is None: out["beyond100"] += 1
    elif r <= 3: out["top3"] += 1
    else: out["window"] += 1
    if (q, d) in surfaced:
        out["surfaced"] += 1; reasons[surfaced[(q, d)]] = reasons.get(surfaced[(q, d)], 0) + 1
    elif (q, d) in negs: out["leaked_as_negative"] += 1
    elif r is not None and r > 3: out["in_window_not_surfaced_not_used"] += 1
rows_for_hidden_queries = sum(1 for s in res.audit if s.query_id in hidden)
out.update({"hidden": len(hidden), "audit_rows_total": len(res.audit), "audit_rows_for_those_queries": rows_for_hidden_queries,
            "surfaced_by_reason": reasons,
            "recall_all_hidden": out["surfaced"] / len(hidden),
            "recall_of_in_window": out["surfaced"] / max(1, out["window"]),
            "precision_lower_bound": out["surfaced"] / max(1, rows_for_hidden_queries)})
print(json.dumps(out, indent=1))
