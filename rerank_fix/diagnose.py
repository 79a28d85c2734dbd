"""``diagnose``: how good is stage one, per stratum, and where can reranking help at all?"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rerank_fix.data.types import EvalSet
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.evaluator import ALL, Headroom, RunEvaluation, StratifiedEvaluator, StratumComparison
from rerank_fix.evaluate.metrics import DEFAULT_METRICS
from rerank_fix.evaluate.strata import Stratifier
from rerank_fix.retrieve.run import Run

logger = logging.getLogger("rerank_fix.diagnose")


@dataclass
class DiagnoseConfig:
    """Settings of one diagnose job.

    Args:
        retrievers: Stage-one systems to diagnose: ``dense``, ``bm25`` or both.
        dense_model: Bi-encoder id or path; ``None`` is the bundled all-MiniLM-L6-v2.
        reranker: Cross-encoder id or path; when set, its effect on the top ``rerank_depth`` is measured.
        rerank_depth: How many stage-one candidates the reranker reorders.
        headroom_threshold: Reranking "has room to help" where recall@50 − recall@5 is at least this.
        min_stratum_size: Smaller strata are flagged too small to judge.
        k: Stage-one depth (must cover recall@100).
    """

    retrievers: Sequence[str] = ("dense",)
    dense_model: str | None = None
    reranker: str | None = None
    rerank_depth: int = 50
    rerank_max_length: int = 512
    rerank_batch_size: int = 32
    trust_remote_code: bool = False
    headroom_threshold: float = 0.25
    min_stratum_size: int = 20
    alpha: float = 0.05
    k: int = 100
    cache_dir: str | None = None
    metrics: Sequence[str] = DEFAULT_METRICS
    compare_metrics: Sequence[str] = ("ndcg@10", "recall@5", "mrr@10")

    def __post_init__(self) -> None:
        unknown = [r for r in self.retrievers if r not in ("dense", "bm25")]
        if unknown or not self.retrievers:
            raise ConfigError(f"--retriever must be dense, bm25 or both, got {', '.join(unknown) or 'nothing'}")
        if not 0 < self.headroom_threshold < 1:
            raise ConfigError(f"--headroom-threshold must be between 0 and 1, got {self.headroom_threshold}")
        if self.rerank_depth < 1 or self.rerank_depth > self.k:
            raise ConfigError(f"--rerank-depth must be between 1 and the stage-one depth {self.k}, got {self.rerank_depth}")
        if self.min_stratum_size < 1:
            raise ConfigError("--min-stratum-size must be at least 1")


@dataclass
class SystemDiagnosis:
    run: Run
    evaluation: RunEvaluation
    headroom: list[Headroom]
    reranked: Run | None = None
    reranked_evaluation: RunEvaluation | None = None
    comparisons: list[StratumComparison] = field(default_factory=list)


@dataclass
class Diagnosis:
    eval_set_name: str
    n_queries: int
    config: DiagnoseConfig
    systems: dict[str, SystemDiagnosis]
    evaluator: StratifiedEvaluator

    def as_dict(self) -> dict:
        out = {"dataset": self.eval_set_name, "n_queries": self.n_queries,
               "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self.config).items()},
               "strata": {dim: _counts(labels) for dim, labels in self.evaluator.assignments.items()},
               "systems": {}}
        for name, system in self.systems.items():
            entry = {"evaluation": system.evaluation.as_dict(), "headroom": [h.as_dict() for h in system.headroom]}
            if system.reranked_evaluation is not None:
                entry["reranked"] = system.reranked_evaluation.as_dict()
                entry["rerank_effect"] = [c.as_dict() for c in system.comparisons]
            out["systems"][name] = entry
        return out


def _counts(labels: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def build_retriever(kind: str, config: DiagnoseConfig):
    if kind == "dense":
        from rerank_fix.retrieve.dense import DenseRetriever

        return DenseRetriever(config.dense_model, cache_dir=config.cache_dir)
    from rerank_fix.retrieve.bm25 import BM25Retriever

    return BM25Retriever()


def diagnose(eval_set: EvalSet, config: DiagnoseConfig,
             stratifiers: Sequence[Stratifier] | None = None) -> Diagnosis:
    """Run stage one, score it per stratum, apply the headroom rule and, with a reranker, measure it."""
    metrics = list(dict.fromkeys([*config.metrics, "recall@5", "recall@50"]))
    evaluator = StratifiedEvaluator(eval_set, stratifiers, metrics=metrics,
                                    min_stratum_size=config.min_stratum_size, alpha=config.alpha)
    reranker = None
    from rerank_fix.rerank.http_base import build_http_reranker, is_http_reranker, named_http_reranker

    http_spec = named_http_reranker(config.reranker) if config.reranker else None
    if config.reranker and (is_http_reranker(config.reranker) or http_spec is not None):
        reranker = build_http_reranker(http_spec if http_spec is not None else config.reranker)
    elif config.reranker:
        from rerank_fix.rerank.cross_encoder import CrossEncoderReranker

        reranker = CrossEncoderReranker(config.reranker, max_length=config.rerank_max_length,
                                        batch_size=config.rerank_batch_size,
                                        trust_remote_code=config.trust_remote_code)
    systems: dict[str, SystemDiagnosis] = {}
    for kind in config.retrievers:
        logger.info("stage one: %s over %d documents, %d queries", kind, len(eval_set.corpus), len(eval_set.queries))
        retriever = build_retriever(kind, config)
        retriever.index(eval_set.corpus)
        run = retriever.search(eval_set.query_texts, k=config.k).renamed(kind)
        evaluation = evaluator.evaluate(run)
        system = SystemDiagnosis(run, evaluation, evaluator.headroom(evaluation, config.headroom_threshold))
        if reranker is not None:
            logger.info("reranking the top %d of %s", config.rerank_depth, kind)
            system.reranked = reranker.rerank(run, eval_set.query_texts, eval_set.corpus, depth=config.rerank_depth,
                                              name=f"{kind}+rerank")
            system.reranked_evaluation = evaluator.evaluate(system.reranked)
            system.comparisons = evaluator.compare(system.reranked_evaluation, evaluation,
                                                   metrics=[m for m in config.compare_metrics if m in metrics])
        systems[kind] = system
    return Diagnosis(eval_set.name, len(eval_set.queries), config, systems, evaluator)


def write_outputs(diagnosis: Diagnosis, out_dir: str | Path) -> Path:
    """Write runs, per-query metrics, report.json, report.md and plots; returns the report.md path."""
    from rerank_fix.report.diagnose import render_markdown
    from rerank_fix.report.plots import plot_deltas, plot_headroom, plot_recall_curves

    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    plots: dict[str, list[str]] = {}
    for name, system in diagnosis.systems.items():
        system.run.to_trec(out / "runs" / f"{name}.trec")
        _write_per_query(system.evaluation, out / f"per_query.{name}.tsv")
        plots[name] = [
            plot_recall_curves(system.evaluation, out / f"recall_curves.{name}.png").name,
            plot_headroom(system.headroom, out / f"headroom.{name}.png",
                          f"Headroom per stratum: {name}").name]
        if system.reranked is not None:
            system.reranked.to_trec(out / "runs" / f"{name}+rerank.trec")
            _write_per_query(system.reranked_evaluation, out / f"per_query.{name}+rerank.tsv")
            plots[name].append(plot_deltas(system.comparisons, out / f"rerank_effect.{name}.png",
                                           f"Reranking the top {diagnosis.config.rerank_depth} of {name}").name)
    tmp = out / "report.json.tmp"
    tmp.write_text(json.dumps(diagnosis.as_dict(), indent=2, default=_json_default))
    tmp.replace(out / "report.json")
    report = out / "report.md"
    report.write_text(render_markdown(diagnosis, plots))
    return report


def _json_default(value):
    if isinstance(value, float):
        return None
    return str(value)


def _write_per_query(evaluation: RunEvaluation, path: Path) -> None:
    metrics = list(evaluation.per_query)
    qids = list(next(iter(evaluation.per_query.values())).keys()) if metrics else []
    lines = ["query_id\t" + "\t".join(metrics)]
    lines += [qid + "\t" + "\t".join(f"{evaluation.per_query[m][qid]:.6f}" for m in metrics) for qid in qids]
    path.write_text("\n".join(lines) + "\n")


def headline_rows(diagnosis: Diagnosis, system: SystemDiagnosis, compact: bool = False) -> list[list[str]]:
    """Per-stratum rows: metrics with CI, headroom and (with a reranker) the observed effect."""
    from rerank_fix.report.tables import fmt_compact, fmt_estimate, fmt_number, fmt_p

    fmt = fmt_compact if compact else fmt_estimate

    effect = {(c.dimension, c.stratum): c for c in system.comparisons if c.metric == "ndcg@10"}
    rows = []
    for s, h in zip(system.evaluation.strata, system.headroom):
        row = ["overall" if s.dimension == ALL else s.dimension, "all" if s.dimension == ALL else s.stratum, str(s.n)]
        row += [fmt(s.metrics[m], 3) for m in diagnosis.config.metrics]
        room = "yes" if h.has_room else "no"
        if s.n < diagnosis.config.min_stratum_size:
            room += " (n too small)"
        row += [fmt_number(h.headroom), room]
        if effect:
            c = effect[(s.dimension, s.stratum)]
            row += [fmt_number(c.delta.mean, signed=True), fmt_p(c.p_holm), c.verdict]
        rows.append(row)
    return rows
