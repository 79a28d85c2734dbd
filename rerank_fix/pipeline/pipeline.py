"""Executing one pipeline: ``[rewrite] -> dense | bm25 | rrf -> [rerank ...]``, plus its latency probe."""
from __future__ import annotations

import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rerank_fix.core.text import percentile
from rerank_fix.core.types import Query
from rerank_fix.errors import ConfigError
from rerank_fix.fuse.interpolate import interpolate_scores
from rerank_fix.fuse.rrf import reciprocal_rank_fusion
from rerank_fix.pipeline.recipe import PipelineSpec, RerankStage, RewriteStage, stage_key
from rerank_fix.pipeline.stage import StageSpec
from rerank_fix.pipeline.tuning import FusionParams, TunedFusion, cv_tune_interpolation, cv_tune_rrf, fusion_grid
from rerank_fix.pipeline.workspace import Workspace, texts_key
from rerank_fix.core.run import Run

logger = logging.getLogger("rerank_fix.pipeline")


@dataclass
class LatencyStats:
    """Per-query latency of one stage (or of a whole pipeline) in milliseconds.

    Args:
        p50 / p95: Percentiles over the probed queries.
        n: Queries probed; 0 when the probe was off and ``p50 = p95`` is the batch time per query.
        amortised: True when the figure is batch time divided by queries, not a per-query measurement.

    Example:
        >>> LatencyStats.of([10.0, 12.0, 30.0]).p50
        12.0
    """

    p50: float
    p95: float
    n: int
    amortised: bool = False

    @classmethod
    def of(cls, values: Sequence[float]) -> "LatencyStats":
        return cls(percentile(values, 50), percentile(values, 95), len(values))

    def as_dict(self) -> dict[str, Any]:
        return {"p50_ms": round(self.p50, 3), "p95_ms": round(self.p95, 3), "n": self.n, "amortised": self.amortised}


@dataclass
class StageTrace:
    """What one stage did in the batch run, and its per-query latency from the probe.

    Args:
        label: Display name, e.g. ``rrf(dense,bm25)`` or ``rerank(minilm-quick@50)``.
        kind: Stage kind.
        seconds: Wall time of the batch computation (when it was computed, even if this pipeline reused it).
        cached: True when this pipeline reused a result another pipeline computed.
        info: Stage details (tuned values, rewrite counts, model path ...).
        latency_ms: ``query_id -> ms`` from the one-query-at-a-time probe.

    Example:
        >>> StageTrace("bm25", "bm25", 0.5, False, latency_ms={"q1": 2.0, "q2": 4.0}).latency().p95
        3.9
    """

    label: str
    kind: str
    seconds: float
    cached: bool
    info: dict[str, Any] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    n_queries: int = 0

    def latency(self) -> LatencyStats:
        if self.latency_ms:
            return LatencyStats.of(list(self.latency_ms.values()))
        per_query = self.seconds * 1000 / max(1, self.n_queries)
        return LatencyStats(per_query, per_query, 0, amortised=True)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "batch_seconds": round(self.seconds, 3),
                "reused": self.cached, "latency": self.latency().as_dict(), "info": self.info}


@dataclass
class PipelineOutput:
    """A pipeline's run over the evaluation queries and its stage traces.

    Args:
        name: Pipeline name.
        run: The final ranking of every query.
        stages: One trace per stage, in order.
        info: Extra outputs (e.g. the rewrite results).

    Example:
        >>> out = PipelineOutput("bm25", Run("bm25", {}), [StageTrace("bm25", "bm25", 0.1, False, n_queries=10)])
        >>> out.total_latency().amortised
        True
    """

    name: str
    run: Run
    stages: list[StageTrace]
    info: dict[str, Any] = field(default_factory=dict)
    # The input run and the query texts of each stage, for the latency probe.
    stage_inputs: list[Any] = field(default_factory=list, repr=False)

    def total_latency(self) -> LatencyStats:
        probed = [s.latency_ms for s in self.stages if s.latency_ms]
        if probed and len(probed) == len(self.stages):
            common = set.intersection(*(set(p) for p in probed))
            return LatencyStats.of([sum(p[q] for p in probed) for q in common])
        per_query = sum(s.latency().p50 for s in self.stages)
        return LatencyStats(per_query, per_query, 0, amortised=True)

    def per_query_total_ms(self) -> dict[str, float]:
        probed = [s.latency_ms for s in self.stages]
        if not probed or not all(probed):
            return {}
        common = set.intersection(*(set(p) for p in probed))
        return {q: sum(p[q] for p in probed) for q in common}


@dataclass
class TuningContext:
    """What cross-validated stages need: judgements and the folds (never the fold they score).

    Args:
        qrels: Judgements of the evaluated queries.
        folds: The recipe's folds.
        default_folds: Their number.
        seed: Seed for folds of another size.
        groups: Queries that must share a fold (versions of one query).
        unavailable: Why there are no folds (too few queries); raised only when a stage needs them.

    Example:
        >>> ctx = TuningContext({"a": {"d": 1}, "b": {"d": 1}}, [["a"], ["b"]], 2, 0)
        >>> ctx.folds_for(None)
        [['a'], ['b']]
    """

    qrels: Mapping[str, Mapping[str, int]]
    folds: list[list[str]]
    default_folds: int
    seed: int
    groups: Mapping[str, str] | None = None
    unavailable: ConfigError | None = None

    def folds_for(self, n_folds: int | None) -> list[list[str]]:
        if self.unavailable is not None:
            raise self.unavailable
        if n_folds is None or n_folds == len(self.folds):
            return self.folds
        from rerank_fix.pipeline.tuning import make_folds

        return make_folds([q for f in self.folds for q in f], n_folds, self.seed, self.groups)


@dataclass
class _RunState:
    """What flows from stage to stage while a pipeline runs."""

    queries: Mapping[str, Query]
    texts: dict[str, str]
    variants: list[dict[str, str]]
    rerank_texts: dict[str, str]
    run: Run | None
    lineage: str
    tuning: TuningContext | None
    traces: list[StageTrace] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


class Pipeline:
    """One composition of stages, run over many queries at once (sharing the workspace's caches).

    Args:
        spec: The pipeline from the recipe.
        workspace: Shared retrievers / runs / models.
        model_paths: ``name used in the recipe -> resolved model id or folder`` for rerank stages.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> from rerank_fix.pipeline.recipe import PipelineSpec
        >>> ds = load_eval_set("demo")                                               # doctest: +SKIP
        >>> spec = PipelineSpec(name="bm25", stages=[{"stage": "bm25"}])
        >>> out = Pipeline(spec, Workspace(ds.corpus)).run(ds.queries)               # doctest: +SKIP
        >>> out.run.ranked_ids(next(iter(ds.queries)))[:3]                           # doctest: +SKIP
    """

    def __init__(self, spec: PipelineSpec, workspace: Workspace, model_paths: Mapping[str, str] | None = None) -> None:
        if spec.routed:
            raise ConfigError(f"pipeline {spec.name!r} is routed; run it with the recipe runner")
        self.spec = spec
        self.workspace = workspace
        self.model_paths = dict(model_paths or {})
        self.tuned: dict[int, TunedFusion] = {}

    # ----------------------------------------------------------------------------------- batch
    def _rewriter(self, stage: RewriteStage) -> Any:
        from rerank_fix.rewrite.config import load_rewrite_config, rewrite_config_from_dict
        from rerank_fix.rewrite.factory import build_rewriter

        if isinstance(stage.config, str):
            config = load_rewrite_config(stage.config)
        else:
            config = rewrite_config_from_dict(dict(stage.config), source="rewrite stage config")
        config = config.model_copy(update={"mode": stage.mode})
        key = "rewriter:" + json.dumps(config.model_dump(mode="json"), sort_keys=True)
        return self.workspace.shared(key, lambda: build_rewriter(config, corpus=self.workspace.corpus,
                                                                  show_progress=self.workspace.show_progress))

    def _model_path(self, stage: RerankStage) -> str:
        return self.model_paths.get(stage.model, stage.model)

    def _coverage(self, stage: StageSpec, texts: Mapping[str, str]) -> dict[str, Any]:
        """What a retriever that can miss queries (a run file) reports about them, by component."""
        out = {}
        for component in stage.components():
            retriever = self.workspace.retriever(component)
            if hasattr(retriever, "coverage"):
                out[component.label()] = retriever.coverage(texts)
        return out

    def _first_stage(self, stage: Any, texts: Mapping[str, str], index: int,
                     tuning: TuningContext | None) -> tuple[Run, float, bool, dict[str, Any]]:
        coverage = self._coverage(stage, texts)
        info: dict[str, Any] = {}
        if coverage and stage.role == "retriever":
            info = {"path": getattr(stage, "path", None), "coverage": next(iter(coverage.values()))}
        elif coverage:
            info = {"coverage": coverage}
        if stage.role == "retriever":
            run, seconds, cached = self.workspace.search_timed(stage, texts)
            return run, seconds, cached, info
        parts = self.workspace.search_many(stage.retrievers, texts)
        runs = [r for r, _, _ in parts]
        names = [f"{r.stage}" if [x.stage for x in stage.retrievers].count(r.stage) == 1 else f"{r.stage}{i}"
                 for i, r in enumerate(stage.retrievers)]
        parallel_seconds = max(s for _, s, _ in parts)
        cached = all(c for _, _, c in parts)
        if not stage.tuned:
            start = time.perf_counter()
            fused = reciprocal_rank_fusion(runs, k=float(stage.k), weights=stage.weights, depth=stage.depth,
                                           name=self.spec.name).top(stage.top_k)
            return fused, parallel_seconds + time.perf_counter() - start, cached, {
                "retrievers": names, "k": stage.k, "weights": stage.weights or [1.0] * len(runs), **info}
        if tuning is None:
            raise ConfigError(f"pipeline {self.spec.name!r}: rrf with 'tune' needs judged queries to "
                              "cross-validate on; run it through a recipe with qrels, or give fixed weights/k")
        folds = tuning.folds_for(stage.tune.folds)
        grid = fusion_grid(len(runs), stage.weights, stage.k, stage.tune.weight_grid, stage.tune.k_grid)
        key = f"tuned|{stage_key(stage)}|{texts_key(texts)}|{json.dumps(folds)}"
        tuned, seconds, was_cached = self.workspace.memo(key, lambda: cv_tune_rrf(
            runs, tuning.qrels, folds, grid, stage.tune.metric, stage.depth, stage.top_k, name=self.spec.name,
            names=names))
        self.tuned[index] = tuned
        run = tuned.run
        # The grid search is evaluation work, not query-time work: it is reported apart from the stage time.
        info = {"retrievers": names, "tuning": tuned.as_dict(), "tuning_seconds": round(seconds, 3), **info}
        return run, parallel_seconds, cached and was_cached, info

    def _interpolate(self, stage: RerankStage, index: int, source: Run, reranked: Run, key: str,
                     tuning: TuningContext | None) -> tuple[Run, dict[str, Any]]:
        if not stage.tuned:
            weight = float(stage.interpolate)  # type: ignore[arg-type]
            return (interpolate_scores(source, reranked, weight, stage.depth, name=self.spec.name),
                    {"interpolate": weight})
        if tuning is None:
            raise ConfigError(f"pipeline {self.spec.name!r}: rerank with interpolate: tune needs judged queries "
                              "to cross-validate on; run it through a recipe with qrels, or give a fixed weight")
        folds = tuning.folds_for(stage.tune.folds)
        memo_key = f"interpolate|{key}|{json.dumps(stage.tune.model_dump(mode='json'))}|{json.dumps(folds)}"
        tuned, seconds, _ = self.workspace.memo(memo_key, lambda: cv_tune_interpolation(
            source, reranked, tuning.qrels, folds, stage.tune.grid, stage.tune.metric, stage.depth,
            name=self.spec.name))
        self.tuned[index] = tuned
        return tuned.run, {"interpolate": "tune", "tuning": tuned.as_dict(), "tuning_seconds": round(seconds, 3)}

    def run(self, queries: Mapping[str, Query], tuning: TuningContext | None = None) -> PipelineOutput:
        """Run every stage over ``queries`` (batched; stage one shared through the workspace)."""
        texts = {qid: q.text for qid, q in queries.items()}
        state = _RunState(queries, texts, [texts], texts, None, texts_key(texts), tuning)
        steps = {"rewrite": self._run_rewrite, "retriever": self._run_first, "fusion": self._run_first,
                 "rerank": self._run_rerank}
        for index, stage in enumerate(self.spec.stages):
            steps[stage.role](stage, index, state)
        assert state.run is not None
        return PipelineOutput(self.spec.name, state.run.renamed(self.spec.name), state.traces, state.info,
                              state.inputs)

    def _run_rewrite(self, stage: RewriteStage, index: int, state: "_RunState") -> None:
        rewriter = self._rewriter(stage)
        texts = state.texts
        key = f"rewrite|{stage_key(stage)}|{texts_key(texts)}"
        out, seconds, cached = self.workspace.memo(key, lambda r=rewriter: r.rewrite(dict(state.queries)))
        state.variants = out.retrieval_queries()
        state.rerank_texts = out.rewritten_texts() if stage.reranks_rewritten else out.original_texts()
        state.lineage += "|" + key
        state.inputs.append((None, texts))
        state.traces.append(StageTrace(stage.label(), "rewrite", seconds, cached, {
            "summary": out.summary.to_dict(), "mode": stage.mode,
            "per_query_ms": {qid: r.latency_ms for qid, r in out.results.items()}}, n_queries=len(texts)))
        state.info["rewrite"] = out

    def _run_first(self, stage: Any, index: int, state: "_RunState") -> None:
        variants, texts = state.variants, state.texts
        per_variant = [self._first_stage(stage, v, index, state.tuning) for v in variants]
        if len(per_variant) == 1:
            run, seconds, cached, stage_info = per_variant[0]
        else:
            rewrite_stage = next(s for s in self.spec.stages if s.role == "rewrite")
            start = time.perf_counter()
            run = reciprocal_rank_fusion([p[0] for p in per_variant], k=rewrite_stage.fuse_k,
                                         name=self.spec.name).top(stage.top_k)
            seconds = sum(p[1] for p in per_variant) + time.perf_counter() - start
            cached = all(p[2] for p in per_variant)
            stage_info = {"variants": ["original", "rewritten"], "fuse_k": rewrite_stage.fuse_k,
                          **per_variant[0][3]}
        state.run = run
        state.lineage += "|" + stage_key(stage)
        state.inputs.append((None, variants))
        state.traces.append(StageTrace(stage.label(), stage.stage, seconds, cached, stage_info, n_queries=len(texts)))

    def _run_rerank(self, stage: RerankStage, index: int, state: "_RunState") -> None:
        assert state.run is not None
        path = self._model_path(stage)
        reranker = self.workspace.reranker(stage, path, share_scores=True)
        source = state.run
        rerank_texts = state.rerank_texts
        self.workspace.check_parity(stage, path, source, rerank_texts, state.tuning.qrels if state.tuning else None)
        # Keyed without the interpolation: pipelines that differ only in how they blend share the scores.
        key = f"{state.lineage}|rerank|{stage.scoring_key()}|{path}|{texts_key(rerank_texts)}"
        run, seconds, cached = self.workspace.memo(
            key, lambda r=reranker, src=source, t=rerank_texts, d=stage.depth: r.rerank(
                src, t, self.workspace.corpus, depth=d, name=self.spec.name))
        self.workspace.stats.reranks += 1
        self.workspace.stats.rerank_hits += int(cached)
        stage_info: dict[str, Any] = {"model": stage.model, "path": path, "depth": stage.depth,
                                      "max_length": stage.max_length}
        if stage.interpolate is not None:
            run, blend_info = self._interpolate(stage, index, source, run, key, state.tuning)
            stage_info.update(blend_info)
            key += f"|interpolate={stage.interpolate}|{json.dumps(stage.tune.model_dump(mode='json'))}"
        state.run = run
        state.lineage = key
        state.inputs.append((source, rerank_texts))
        state.traces.append(StageTrace(stage.label(), "rerank", seconds, cached, stage_info,
                                       n_queries=len(state.texts)))

    # ----------------------------------------------------------------------------------- probe
    def probe(self, output: PipelineOutput, queries: Mapping[str, Query], warmup: bool = True) -> None:
        """Time every stage one query at a time on ``queries`` (a sample); fills ``latency_ms`` of the traces.

        Dense query vectors are computed afresh (no embedding cache), as for a live query; stage-one
        results feeding a rerank are those of the batch run, so each stage is timed on its real input.
        """
        if not queries:
            return
        qids = list(queries)
        executor = ThreadPoolExecutor(max_workers=4)
        timers = [{"rewrite": self._rewrite_timer, "retriever": self._first_stage_timer,
                   "fusion": self._first_stage_timer, "rerank": self._rerank_timer}[stage.role](stage, inputs, executor)
                  for stage, inputs in zip(self.spec.stages, output.stage_inputs)]

        def measure() -> None:
            if warmup:
                for timer in timers:
                    timer(qids[0], queries[qids[0]])
            for qid in qids:
                for timer, trace in zip(timers, output.stages):
                    start = time.perf_counter()
                    timer(qid, queries[qid])
                    trace.latency_ms[qid] = (time.perf_counter() - start) * 1000

        # Every pipeline is timed from the same kind of thread (a worker, as in a server), so a stage's
        # figure does not depend on whether it happens to run on the main thread.
        prober = ThreadPoolExecutor(max_workers=1)
        try:
            prober.submit(measure).result()
        finally:
            prober.shutdown(wait=True)
            executor.shutdown(wait=True)

    def _rewrite_timer(self, stage: RewriteStage, inputs: Any, executor: ThreadPoolExecutor):
        rewriter = self._rewriter(stage)
        return lambda qid, q: rewriter.rewrite({qid: q})

    def _first_stage_timer(self, stage: Any, inputs: Any, executor: ThreadPoolExecutor):
        _, variants = inputs
        rewrite_stage = next((s for s in self.spec.stages if s.role == "rewrite"), None)
        components = stage.components()
        probes = [self.workspace.probe_retriever(c) for c in components]
        tuned = self.tuned.get(self.spec.stages.index(stage))
        params = tuned.deploy if tuned is not None else (
            FusionParams(tuple(stage.weights or [1.0] * len(components)), float(stage.k))
            if stage.role == "fusion" else None)

        def one_variant(qid: str, text: str) -> Run:
            if len(probes) == 1:
                return probes[0].search({qid: text}, k=components[0].top_k)
            # The hybrid's retrievers run in parallel threads, as in production.
            futures = [executor.submit(p.search, {qid: text}, c.top_k) for p, c in zip(probes, components)]
            runs = [f.result() for f in futures]
            return reciprocal_rank_fusion(runs, k=params.k, weights=params.weights,
                                          depth=stage.depth).top(stage.top_k)

        def timer(qid: str, q: Query) -> None:
            runs = [one_variant(qid, v.get(qid, q.text)) for v in variants]
            if len(runs) > 1 and rewrite_stage is not None:
                reciprocal_rank_fusion(runs, k=rewrite_stage.fuse_k).top(stage.top_k)
        return timer

    def _rerank_timer(self, stage: RerankStage, inputs: Any, executor: ThreadPoolExecutor):
        source, texts = inputs
        corpus = self.workspace.corpus
        reranker = self.workspace.reranker(stage, self._model_path(stage), show_progress=False)

        # A tuned blend is timed with the weight it would deploy (only _interpolate tunes a rerank stage).
        tuned = self.tuned.get(self.spec.stages.index(stage))
        weight = tuned.deploy.weight if tuned is not None else stage.interpolate

        def rerank_one(qid: str, q: Query) -> None:
            single = Run("probe", {qid: source.results.get(qid, [])})
            reranked = reranker.rerank(single, {qid: texts.get(qid, q.text)}, corpus, depth=stage.depth)
            if weight is not None:
                interpolate_scores(single, reranked, float(weight), stage.depth)
        return rerank_one


def latency_sample(query_ids: Sequence[str], size: int, seed: int = 0) -> list[str]:
    """The seeded sample of queries every pipeline is timed on (the same for all, so totals compare)."""
    ids = sorted(query_ids)
    if size >= len(ids):
        return ids
    return sorted(random.Random(seed).sample(ids, size))
