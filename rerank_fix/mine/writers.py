"""Write mined negatives in the formats trainers read, plus the statistics and a histogram.

Layout of ``out_dir``::

    triples.jsonl              FlagEmbedding: {"query", "pos": [...], "neg": [...], "query_id", "pos_ids", "neg_ids"}
                               (+ "pos_scores"/"neg_scores": teacher logits, when a teacher was used)
    triplet.parquet            sentence-transformers triplets: anchor, positive, negative (one row per pos x neg)
    n-tuple.parquet            anchor, positive, negative_1 .. negative_n (queries with all n negatives)
    dataset/triplet/           the same two, saved with datasets.Dataset.save_to_disk
    dataset/n-tuple/
    stats.json                 counts, drop reasons and shares, score summaries, settings
    histogram.png              ranks of kept and dropped candidates; similarity of positives vs negatives
    audit.jsonl, audit.html    with ``audit``: the candidates the false-negative checks dropped (suspects to label)

Rows are streamed to disk in chunks; no output is assembled whole in memory. Typo-augmented queries
(``query_id`` ``<id>#typo<k>``) carry their clean query's positives, negatives and teacher scores.
"""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from rerank_fix.core.jsonio import atomic_writer, write_json

#: A :class:`rerank_fix.mine.miner.MiningResult`. Not imported, even for type checking: the miner imports
#: this module (``MiningResult.write``), and the layering test forbids the circle.
MiningResult = Any

logger = logging.getLogger("rerank_fix.mine")

CHUNK_ROWS = 2048


def flag_rows(result: MiningResult) -> Iterator[dict[str, Any]]:
    """One FlagEmbedding row per mined query."""
    for rec in result.records:
        row: dict[str, Any] = {
            "query": rec.query,
            "pos": [result.text(d) for d in rec.pos_ids],
            "neg": [result.text(d) for d in rec.neg_ids],
            "query_id": rec.query_id,
            "pos_ids": list(rec.pos_ids),
            "neg_ids": list(rec.neg_ids),
        }
        if rec.pos_teacher is not None and rec.neg_teacher is not None:
            # FlagEmbedding's knowledge-distillation keys; only real teacher scores belong here.
            row["pos_scores"] = list(rec.pos_teacher)
            row["neg_scores"] = list(rec.neg_teacher)
        yield row


def write_flag_jsonl(result: MiningResult, path: str | Path) -> int:
    n = 0
    with atomic_writer(path) as handle:
        for row in flag_rows(result):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _triplet_rows(result: MiningResult) -> Iterator[dict[str, str]]:
    for query, pos, neg in result.triples():
        yield {"anchor": query, "positive": pos, "negative": neg}


def _ntuple_rows(result: MiningResult, n: int) -> Iterator[dict[str, str]]:
    for rec in result.records:
        if len(rec.neg_ids) < n:
            continue
        negs = {f"negative_{i}": result.text(d) for i, d in enumerate(rec.neg_ids[:n], start=1)}
        for pos in rec.pos_ids:
            yield {"anchor": rec.query, "positive": result.text(pos), **negs}


def _write_arrow(rows: Iterator[dict[str, str]], columns: list[str], path: Path) -> int:
    """Stream rows into an Arrow IPC stream file (the format ``datasets`` memory-maps), a chunk at a time."""
    import pyarrow as pa

    schema = pa.schema([(c, pa.string()) for c in columns])
    count = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        chunk: list[dict[str, str]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count += len(chunk)
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count


def _publish(arrow: Path, folder: Path, parquet: Path) -> None:
    """The memory-mapped Arrow file as a ``save_to_disk`` folder and a parquet file, replacing old ones."""
    import pyarrow.parquet as pq
    from datasets import Dataset

    ds = Dataset.from_file(str(arrow), in_memory=False)
    if folder.exists():
        shutil.rmtree(folder)
    # One shard even when empty: a dataset saved with zero shards does not load back.
    ds.save_to_disk(str(folder), num_shards=1)
    with atomic_writer(parquet, "wb") as handle:
        pq.write_table(ds.data.table, handle)
    del ds


def write_st_datasets(result: MiningResult, out_dir: str | Path) -> dict[str, int]:
    """Triplet and n-tuple forms, as parquet and as ``datasets`` folders; returns their row counts."""
    out = Path(out_dir)
    (out / "dataset").mkdir(parents=True, exist_ok=True)
    n = result.config.negatives
    counts = {}
    for name, rows, columns in (
        ("triplet", _triplet_rows(result), ["anchor", "positive", "negative"]),
        ("n-tuple", _ntuple_rows(result, n), ["anchor", "positive", *[f"negative_{i}" for i in range(1, n + 1)]]),
    ):
        with tempfile.TemporaryDirectory(prefix="rerank_fix_mine_", dir=out) as scratch:
            arrow = Path(scratch) / f"{name}.arrow"
            counts[name] = _write_arrow(rows, columns, arrow)
            _publish(arrow, out / "dataset" / name, out / f"{name}.parquet")
    return counts


def plot_histogram(result: MiningResult, path: str | Path) -> Path:
    """Two panels: stage-one ranks of kept vs dropped candidates; similarity of positives vs negatives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    path = Path(path)
    hist = result.rank_histograms
    cfg = result.config
    ranks = np.arange(len(hist["kept"])) if hist else np.arange(1)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    if hist:
        # One filled step artist per series: a bar per rank and series would be hundreds of patches.
        edges = np.arange(len(ranks) + 1) - 0.5
        bottom = np.zeros(len(ranks))
        series = [("kept", "kept (negative)", "#4c72b0")]
        colors = {"exact_duplicate": "#c44e52", "near_duplicate": "#dd8452", "relative_margin": "#8172b3",
                  "absolute_margin": "#937860", "max_score": "#da8bc3", "min_score": "#8c8c8c", "teacher": "#55a868"}
        series += [(reason, f"dropped: {reason}", color) for reason, color in colors.items()]
        series.append(("not_needed", "passed, not needed", "#d0d0d0"))
        for key, label, color in series:
            values = hist.get(key)
            if values is None or not values.sum():
                continue
            top = bottom + values
            ax.stairs(top, edges, baseline=bottom, fill=True, color=color, label=label)
            bottom = top
    ax.axvline(cfg.range_min + 0.5, color="k", lw=0.8, ls="--")
    ax.set_xlim(cfg.range_min - 0.5, cfg.range_max + 1)
    ax.set_xlabel(f"stage-one rank ({cfg.retriever})")
    ax.set_ylabel("candidates")
    ax.set_title("Candidates in the window by rank")
    ax.legend(fontsize=8)

    ax = axes[1]
    pos = [x for r in result.records if r.source_query_id is None for x in (r.pos_dense or [])]
    neg = [x for r in result.records if r.source_query_id is None for x in (r.neg_dense or [])]
    label = "bi-encoder cosine similarity"
    if not pos:
        neg = [x for r in result.records if r.source_query_id is None for x in r.neg_scores]
        label = f"{cfg.retriever} score"
    if pos or neg:
        lo = min(pos + neg)
        hi = max(pos + neg)
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 40)
        if pos:
            ax.hist(pos, bins=bins, alpha=0.6, density=True, label=f"positives (n={len(pos)})", color="#55a868")
        ax.hist(neg, bins=bins, alpha=0.6, density=True, label=f"mined negatives (n={len(neg)})", color="#4c72b0")
        ax.legend(fontsize=8)
    ax.set_xlabel(label)
    ax.set_ylabel("density")
    ax.set_title("Query similarity of positives and negatives")
    fig.suptitle(f"{result.stats['data']['name']}: {result.stats['negatives']['emitted']} negatives for "
                 f"{result.stats['queries']['emitted']} queries", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(result: MiningResult, out_dir: str | Path, plot: bool = True) -> dict[str, str]:
    """Write every output; ``stats.json`` gains the output row counts. Returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    rows = write_flag_jsonl(result, out / "triples.jsonl")
    paths["flag_jsonl"] = str(out / "triples.jsonl")
    counts = write_st_datasets(result, out)
    for name in ("triplet", "n-tuple"):
        paths[f"{name}_parquet"] = str(out / f"{name}.parquet")
        paths[f"{name}_dataset"] = str(out / "dataset" / name)
    result.stats["outputs"] = {"flag_jsonl_rows": rows, "triplet_rows": counts["triplet"],
                               "ntuple_rows": counts["n-tuple"],
                               "ntuple_queries_left_out": sum(1 for r in result.records
                                                              if len(r.neg_ids) < result.config.negatives)}
    if plot:
        paths["histogram"] = str(plot_histogram(result, out / "histogram.png"))
    if result.audit is not None:
        from rerank_fix.mine.audit import write_audit

        paths.update(write_audit(result.audit, result.corpus, out))
        result.stats["outputs"]["audit_rows"] = len(result.audit)
    stats_path = out / "stats.json"
    write_json(stats_path, result.stats)
    paths["stats"] = str(stats_path)
    return paths
