"""The comparison recipe: which data, which pipelines (compositions of stages), how to judge them.

A recipe is YAML validated by pydantic. Every mistake is reported as one :class:`ConfigError` that names
the file, the line and the field (``pipelines[1].stages[1].rerank.depth``) and says how to fix it; the
CLI prints it without a traceback.

Stage syntax (each item of ``stages``)::

    - dense                                   # a bare name: the stage with its defaults
    - dense: {top_k: 100}                     # the stage with options
    - rrf: {retrievers: [dense, bm25], weights: [1.0, 0.3], k: 60}
    - rerank: {model: minilm-quick, depth: 50, max_length: 256}
    - rewrite: {mode: fuse, config: {backend: spell}}

Defaults for every stage come from the fields below, then ``configs/stages.yaml`` of the project that
holds the recipe, then the recipe's own ``defaults:`` section, then the stage's options.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from rerank_fix.config_io import apply_dotted_overrides, deep_merge, loc_text, read_yaml, validation_message, yaml_line
from rerank_fix.errors import ConfigError, UserInputError, quote
from rerank_fix.pipeline.stage import ROLES, STAGES, AddError, StageSpec, kinds_with_role
from rerank_fix.pipeline.stage import Strict as _Strict

if TYPE_CHECKING:
    from rerank_fix.retrieve.base import Retriever

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")


def _check_metric(metric: str, loc: tuple[Any, ...], add: AddError) -> None:
    from rerank_fix.evaluate.metrics import parse_metric

    try:
        parse_metric(metric)
    except ConfigError as exc:
        add(loc, str(exc))


def _short_form(item: Any) -> Any:
    """``"dense"`` -> ``{"stage": "dense"}``; ``{"dense": {...}}`` -> ``{"stage": "dense", ...}``."""
    if isinstance(item, str):
        return {"stage": item}
    if isinstance(item, dict) and "stage" not in item and len(item) == 1:
        kind, options = next(iter(item.items()))
        if isinstance(kind, str) and (options is None or isinstance(options, dict)):
            return {"stage": kind, **(options or {})}
    return item


# --------------------------------------------------------------------------------------------- stages
@STAGES.register("dense")
class DenseStage(StageSpec):
    """Dense retrieval with a bi-encoder (exact cosine).

    Args:
        model: Hub id, local folder, or null for the bundled all-MiniLM-L6-v2.
        top_k: Documents returned per query (the depth later stages can use).
        batch_size: Encoding batch size.
        query_prefix / doc_prefix: Instruction prefixes some models need (``"query: "`` for E5).
        index: ``auto`` (exact numpy, measured faster than FAISS flat on CPU), ``exact``, ``flat``,
            or the approximate FAISS ``hnsw`` / ``ivf`` (see :mod:`rerank_fix.retrieve.index`).

    Example:
        >>> DenseStage(top_k=50).top_k
        50
    """

    role: ClassVar[str] = "retriever"
    stage: Literal["dense"] = "dense"
    model: str | None = None
    top_k: int = Field(100, ge=1, le=10_000)
    batch_size: int = Field(64, ge=1)
    query_prefix: str = ""
    doc_prefix: str = ""
    index: Literal["auto", "exact", "flat", "hnsw", "ivf"] = "auto"

    def build(self, embedding_cache: Any = None, show_progress: bool = True) -> "Retriever":
        from rerank_fix.retrieve import make_retriever

        return make_retriever("dense", model=self.model, batch_size=self.batch_size, cache_dir=embedding_cache,
                              query_prefix=self.query_prefix, doc_prefix=self.doc_prefix,
                              show_progress=show_progress, index=self.index)


@STAGES.register("bm25")
class BM25Stage(StageSpec):
    """BM25 keyword retrieval.

    Args:
        k1 / b: BM25 parameters (0.9 / 0.4, the Anserini/BEIR defaults).
        top_k: Documents returned per query.
        engine: ``bm25s`` or ``rank_bm25``.
        stem: Snowball stemming.
        backend: ``numpy``, or ``numba`` for large query sets (see :class:`~rerank_fix.retrieve.bm25.BM25Retriever`).

    Example:
        >>> BM25Stage(k1=1.2).k1
        1.2
    """

    role: ClassVar[str] = "retriever"
    stage: Literal["bm25"] = "bm25"
    k1: float = Field(0.9, ge=0)
    b: float = Field(0.4, ge=0, le=1)
    top_k: int = Field(100, ge=1, le=10_000)
    engine: Literal["bm25s", "rank_bm25"] = "bm25s"
    stem: bool = True
    backend: Literal["numpy", "numba"] = "numpy"

    def build(self, embedding_cache: Any = None, show_progress: bool = True) -> "Retriever":
        from rerank_fix.retrieve import make_retriever

        return make_retriever("bm25", k1=self.k1, b=self.b, engine=self.engine, stem=self.stem,
                              backend=self.backend)


# Every registered stage whose role is "retriever" (dense, bm25, a run file ...) can be fused by rrf.
RetrieverStage = Annotated[Union[tuple(STAGES.get(k) for k in kinds_with_role("retriever"))],  # type: ignore[misc]
                           Field(discriminator="stage")]


class TuneSpec(_Strict):
    """Cross-validated tuning of RRF weights and/or k.

    Each fold's queries are fused with the values that scored best on the *other* folds, so the
    reported figure never comes from values fitted on the queries it is scored on.

    Args:
        folds: Number of folds (null: the recipe's ``folds``).
        metric: What the tuning maximises.
        weight_grid: Candidate weights for every retriever after the first (whose weight stays 1).
        k_grid: Candidate values of the RRF constant.

    Example:
        >>> TuneSpec().metric
        'ndcg@10'
    """

    folds: int | None = Field(None, ge=2, le=50)
    metric: str = "ndcg@10"
    weight_grid: list[float] = Field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0])
    k_grid: list[float] = Field(default_factory=lambda: [5.0, 10.0, 20.0, 40.0, 60.0, 100.0])

    @field_validator("weight_grid", "k_grid")
    @classmethod
    def _non_empty(cls, value: list[float]) -> list[float]:
        if not value or any(v < 0 for v in value):
            raise ValueError("needs at least one value, all >= 0")
        return value


@STAGES.register("rrf")
class RRFStage(StageSpec):
    """Hybrid retrieval: run several retrievers (in parallel threads) and fuse them with reciprocal rank fusion.

    Args:
        retrievers: Two or more retrievers, by name (``dense``, ``bm25``, or a name from the recipe's
            ``retrievers:`` section) or inline (``{dense: {model: ...}}``).
        k: RRF constant (60 in the original paper), or ``tune`` to choose it by cross-validation.
        weights: One weight per retriever (weighted RRF), ``tune`` for cross-validated weights, or null (all 1).
        depth: Only the top ``depth`` of each run is fused; null uses all it returned.
        top_k: Documents kept after fusion.
        tune: Cross-validation settings used when ``k`` or ``weights`` is ``tune``.

    Example:
        >>> RRFStage(retrievers=[{"stage": "dense"}, {"stage": "bm25"}], weights=[1, 0.3]).weights
        [1.0, 0.3]
    """

    role: ClassVar[str] = "fusion"
    stage: Literal["rrf"] = "rrf"
    retrievers: list[RetrieverStage] = Field(min_length=2)
    k: float | Literal["tune"] = 60.0
    weights: list[float] | Literal["tune"] | None = None
    depth: int | None = Field(None, ge=1)
    top_k: int = Field(100, ge=1, le=10_000)
    tune: TuneSpec = Field(default_factory=TuneSpec)

    @field_validator("retrievers", mode="before")
    @classmethod
    def _retriever_short_forms(cls, value: Any) -> Any:
        return [_short_form(v) for v in value] if isinstance(value, list) else value

    @field_validator("k")
    @classmethod
    def _k_ok(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and value < 0:
            raise ValueError("must be >= 0 (60 is the usual value), or 'tune'")
        return value

    @model_validator(mode="after")
    def _weights_match(self) -> "RRFStage":
        if isinstance(self.weights, list):
            if len(self.weights) != len(self.retrievers):
                kinds = ", ".join(r.stage for r in self.retrievers)
                raise ValueError(f"weights: {len(self.weights)} weights given for {len(self.retrievers)} retrievers "
                                 f"({kinds}); give one weight per retriever, in the same order, or 'tune'")
            if any(w < 0 for w in self.weights):
                raise ValueError("weights: every weight must be >= 0")
            if not any(w > 0 for w in self.weights):
                raise ValueError("weights: at least one weight must be > 0")
        return self

    @property
    def tuned(self) -> bool:
        return self.k == "tune" or self.weights == "tune"

    def label(self) -> str:
        inner = ",".join(r.stage for r in self.retrievers)
        tuned = "" if not self.tuned else ",tuned"
        weights = "" if self.weights in (None, "tune") else ",w=" + "/".join(f"{w:g}" for w in self.weights)
        return f"rrf({inner}{weights}{tuned})"

    def components(self) -> list[StageSpec]:
        return list(self.retrievers)

    def tuned_metrics(self) -> list[str]:
        return [self.tune.metric] if self.tuned else []

    def check(self, recipe: Any, add: AddError) -> None:
        if self.tuned:
            _check_metric(self.tune.metric, ("tune", "metric"), add)
        for i, retriever in enumerate(self.retrievers):
            retriever.check(recipe, lambda loc, msg, i=i: add(("retrievers", i, *loc), msg))


class InterpolationTune(_Strict):
    """Cross-validated choice of the stage-one weight when a rerank stage interpolates.

    Args:
        folds: Number of folds (null: the recipe's ``folds``).
        metric: What the tuning maximises.
        grid: Candidate stage-one weights in [0, 1]; 0 is the reranker alone, 1 stage one alone.

    Example:
        >>> InterpolationTune().grid[-1]
        1.0
    """

    folds: int | None = Field(None, ge=2, le=50)
    metric: str = "ndcg@10"
    grid: list[float] = Field(default_factory=lambda: [round(0.1 * i, 1) for i in range(11)])

    @field_validator("grid")
    @classmethod
    def _weights(cls, value: list[float]) -> list[float]:
        if not value or any(not 0.0 <= v <= 1.0 for v in value):
            raise ValueError("needs at least one value, all between 0 and 1")
        return value


@STAGES.register("rerank")
class RerankStage(StageSpec):
    """Rerank the top ``depth`` of the previous stage with a sentence-transformers CrossEncoder.

    Args:
        model: A name from ``models:`` (e.g. ``minilm-quick``, quick-trained on the data's training split),
            a hub id (``BAAI/bge-reranker-v2-m3``) or a local folder (e.g. a fine-tuned model).
        depth: Candidates reranked per query; must not exceed what the previous stage returns.
        max_length: Token limit per (query, document) pair.
        batch_size: Pairs per forward pass.
        trust_remote_code: Run model code from the hub; off unless you trust the repository.
        interpolate: Blend the reranker's score with the stage-one score instead of replacing it: the
            share of the (per-query min-max normalised) stage-one score in [0, 1], ``tune`` to choose it by
            cross-validation, or null for the reranker's order alone. The fix for a reranker that knows
            less than stage one about this domain (see :mod:`rerank_fix.fuse.interpolate`).
        tune: Cross-validation settings used when ``interpolate`` is ``tune``.
        backend: Scorer backend from :data:`rerank_fix.rerank.SCORERS`: ``torch`` (default), ``onnx``,
            ``onnx-int8``, ``openvino``, ``openvino-int8``. Any other than ``torch`` must pass the parity gate
            (|ΔnDCG@10| <= 0.005 against torch fp32 on the judged queries) or the run stops with the figure.

    Example:
        >>> RerankStage(model="BAAI/bge-reranker-v2-m3", depth=100).depth
        100
        >>> RerankStage(model="runs/finetune/best", interpolate="tune").tune.grid[:3]
        [0.0, 0.1, 0.2]
    """

    role: ClassVar[str] = "rerank"
    stage: Literal["rerank"] = "rerank"
    model: str = Field(min_length=1)
    depth: int = Field(50, ge=1, le=10_000)
    max_length: int | None = Field(256, ge=8)
    batch_size: int = Field(32, ge=1)
    trust_remote_code: bool = False
    interpolate: float | Literal["tune"] | None = None
    tune: InterpolationTune = Field(default_factory=InterpolationTune)
    backend: str = "torch"

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from rerank_fix.rerank.base import SCORERS

        if value not in SCORERS:
            raise ValueError(f"unknown scorer backend {value!r}; choose one of: {', '.join(SCORERS.names())}")
        return value

    @field_validator("interpolate", mode="before")
    @classmethod
    def _weight_or_tune(cls, value: Any) -> Any:
        # One message instead of pydantic's one-per-union-member.
        if value is None or value == "tune":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"give the stage-one weight as a number between 0 and 1, or 'tune' (got {value!r})")
        return float(value)

    @property
    def tuned(self) -> bool:
        return self.interpolate == "tune"

    def label(self) -> str:
        blend = "" if self.interpolate is None else f",interpolate={self.interpolate}"
        return f"rerank({self.model}@{self.depth}{blend})"

    def tuned_metrics(self) -> list[str]:
        return [self.tune.metric] if self.tuned else []

    def check(self, recipe: Any, add: AddError) -> None:
        problem = check_model_reference(recipe, self.model)
        if problem:
            add(("model",), problem)
        if self.tuned:
            _check_metric(self.tune.metric, ("tune", "metric"), add)

    def scoring_key(self) -> str:
        """What the reranker's scores depend on: everything but the interpolation, which is applied after."""
        return json.dumps(self.model_dump(mode="json", exclude={"interpolate", "tune"}), sort_keys=True,
                          separators=(",", ":"))


@STAGES.register("rewrite")
class RewriteStage(StageSpec):
    """Query rewriting before retrieval, through ``rerank_fix.rewrite``.

    Args:
        mode: ``replace`` (retrieve with the rewrite) or ``fuse`` (retrieve with the original and the
            rewrite, fuse the two runs with RRF).
        config: A :class:`~rerank_fix.rewrite.config.RewriteConfig` as a mapping, or the path of its YAML file.
            The default is the offline spell corrector.
        fuse_k: RRF constant for ``fuse`` mode.
        rerank_with: The text a later rerank stage scores: ``original`` or ``rewritten``;
            null means ``rewritten`` in replace mode and ``original`` in fuse mode.

    Example:
        >>> RewriteStage(mode="fuse").mode
        'fuse'
    """

    role: ClassVar[str] = "rewrite"
    stage: Literal["rewrite"] = "rewrite"
    mode: Literal["replace", "fuse"] = "replace"
    config: dict[str, Any] | str = Field(default_factory=dict)
    fuse_k: float = Field(60.0, ge=0)
    rerank_with: Literal["original", "rewritten"] | None = None

    @property
    def reranks_rewritten(self) -> bool:
        if self.rerank_with is not None:
            return self.rerank_with == "rewritten"
        return self.mode == "replace"

    def label(self) -> str:
        return f"rewrite({self.mode})"

    def check(self, recipe: Any, add: AddError) -> None:
        if isinstance(self.config, str):
            if not recipe.resolve_path(self.config).is_file():
                add(("config",), f"rewrite config file {self.config!r} not found")
            return
        from rerank_fix.rewrite.config import rewrite_config_from_dict

        try:
            rewrite_config_from_dict(dict(self.config), source="rewrite stage config")
        except ConfigError as exc:
            add(("config",), str(exc))


# ------------------------------------------------------------------------------------------ pipelines
@STAGES.register("route")
class RouteSpec(StageSpec):
    """A routed pipeline: per stratum, use whichever of ``between`` the evidence supports.

    Registered in ``STAGES`` like every stage, but a *pipeline-level* spec (role ``route``): it is a
    pipeline's ``route:`` key rather than an item of its ``stages:`` (see :mod:`rerank_fix.pipeline.stage`).

    The policy is chosen on training folds and scored on the held-out fold (cross-validation); the
    first option is the fallback, and another option replaces it in a stratum only where it is
    significantly better there (paired test, Holm-adjusted) on the training folds.

    Args:
        between: Names of earlier pipelines; the first is the fallback (usually the baseline).
        policy: Instead of fitting, apply a saved ``routing_policy.json``.
        dimensions: Stratifier dimensions that may route (``length``, ``typo``, a metadata field ...);
            null: every dimension computable at query time.
        metric: The metric the policy optimises.
        alpha: Significance level (null: the recipe's).
        folds: Cross-validation folds (null: the recipe's).
        min_stratum_size: Training-fold strata smaller than this always use the fallback.

    Example:
        >>> RouteSpec(between=["dense", "dense+rerank"]).metric
        'ndcg@10'
    """

    between: list[str] | None = None
    policy: str | None = None
    dimensions: list[str] | None = None
    metric: str = "ndcg@10"
    alpha: float | None = Field(None, gt=0, lt=1)
    folds: int | None = Field(None, ge=2, le=50)
    min_stratum_size: int = Field(10, ge=2)

    role: ClassVar[str] = "route"

    @model_validator(mode="after")
    def _one_source(self) -> "RouteSpec":
        if self.policy is None and (not self.between or len(self.between) < 2):
            raise ValueError("between: name at least two earlier pipelines to route between "
                             "(the first is the fallback), or give policy: path/to/routing_policy.json")
        if self.between is not None and len(set(self.between)) != len(self.between):
            raise ValueError("between: a pipeline is named twice")
        return self

    @property
    def kind(self) -> str:
        return "route"  # the recipe key is the pipeline's ``route:``, so the spec has no ``stage`` field

    def tuned_metrics(self) -> list[str]:
        return [self.metric]

    def needs(self) -> list[str]:
        return list(self.between or [])

    def check(self, recipe: Any, add: AddError) -> None:
        index = next(i for i, p in enumerate(recipe.pipelines) if p.route is self)
        if index == 0:
            add((), "the first pipeline is the baseline; it cannot be routed. Put a plain pipeline (e.g. dense) first")
        _check_metric(self.metric, ("metric",), add)
        earlier = [q.name for q in recipe.pipelines[:index]]
        for j, name in enumerate(self.between or []):
            if name not in earlier:
                add(("between", j), f"{name!r} is not an earlier pipeline (earlier: {', '.join(earlier) or 'none'})")
            elif recipe.pipeline(name).routed:
                add(("between", j), f"{name!r} is itself routed; route between plain pipelines")
        if self.policy is not None and not recipe.resolve_path(self.policy).is_file():
            add(("policy",), f"policy file {self.policy!r} not found")


#: Kinds that are items of a pipeline's ``stages:`` (every registered kind but the pipeline-level ``route``).
STAGE_KINDS = tuple(kinds_with_role(*ROLES))
Stage = Annotated[Union[tuple(STAGES.get(k) for k in STAGE_KINDS)],  # type: ignore[misc]
                  Field(discriminator="stage")]

#: Stage kinds by role, from the registry (kept as names for error messages and old imports).
RETRIEVER_KINDS = tuple(kinds_with_role("retriever"))
FIRST_STAGE_KINDS = tuple(kinds_with_role("retriever", "fusion"))


class PipelineSpec(_Strict):
    """One system to compare: a list of stages, or a route between earlier pipelines.

    Args:
        name: Unique name (letters, digits, ``_ . + -``); used for run files and in the report.
        description: One line for the report.
        stages: ``[rewrite] -> dense | bm25 | rrf -> [rerank ...]``.
        route: Makes this a routed pipeline (then ``stages`` stays empty).

    Example:
        >>> PipelineSpec(name="dense", stages=[{"stage": "dense"}]).stages[0].stage
        'dense'
    """

    name: str
    description: str = ""
    stages: list[Stage] = Field(default_factory=list)
    route: RouteSpec | None = None

    @field_validator("stages", mode="before")
    @classmethod
    def _stage_short_forms(cls, value: Any) -> Any:
        return [_short_form(v) for v in value] if isinstance(value, list) else value

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not a usable name; use letters, digits and _ . + - "
                             "(it becomes a file name)")
        return value

    @model_validator(mode="after")
    def _stages_or_route(self) -> "PipelineSpec":
        if self.route is not None and self.stages:
            raise ValueError("give either stages or route, not both")
        if self.route is None and not self.stages:
            raise ValueError("stages: a pipeline needs at least one stage (e.g. [dense]) or a route")
        return self

    @property
    def routed(self) -> bool:
        return self.route is not None

    @property
    def specs(self) -> list[StageSpec]:
        """The registered specs this pipeline is made of: its route, or its stages."""
        return [self.route] if self.route is not None else list(self.stages)

    @property
    def first_stage(self) -> StageSpec | None:
        for stage in self.stages:
            if stage.role in ("retriever", "fusion"):
                return stage
        return None


# ----------------------------------------------------------------------------------------- the rest
class DataSpec(_Strict):
    """Which evaluation set.

    Args:
        source: Anything ``load_eval_set`` reads (``demo``, a BEIR folder ...); ``--data`` overrides it.
        split: The qrels split scored in the report; ``--split`` overrides it.
        queries_file: Another queries file of the folder (e.g. ``queries.typo1.jsonl``).
        query_sets: Several queries files scored together, ``name: file``; each query appears once per
            set and ``query_set`` becomes a stratum dimension (clean vs typo versions of the same queries).
        max_queries: Score a seeded random sample of this many queries (quick looks; null: all).

    Example:
        >>> DataSpec(source="demo", query_sets={"clean": "queries.jsonl"}).split
        'test'
    """

    source: str | None = None
    split: str = "test"
    queries_file: str | None = None
    query_sets: dict[str, str] = Field(default_factory=dict)
    max_queries: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_query_source(self) -> "DataSpec":
        if self.queries_file and self.query_sets:
            raise ValueError("give queries_file or query_sets, not both")
        for name in self.query_sets:
            if not _NAME.match(name):
                raise ValueError(f"query_sets: {name!r} is not a usable name (letters, digits, _ . + -)")
        return self


class StrataSpec(_Strict):
    """How queries are split into strata.

    Args:
        length_buckets: Inclusive upper bounds of the query-length buckets (tokens).
        typo: Add the typo-heavy vs clean detector.
        typo_share: Share of likely-typo terms that makes a query typo-heavy.
        custom: More stratifiers by registered type, each a config like ``{type: my-kind, option: value}``
            (see :data:`rerank_fix.evaluate.strata.STRATIFIERS`).
        fields: Query metadata fields to stratify by (null: every categorical field found).
        labels_file: A ``query_id<TAB>label`` file of your own strata.

    Example:
        >>> StrataSpec(length_buckets=[3, 8]).typo
        True
    """

    length_buckets: list[int] = Field(default_factory=lambda: [4, 9])
    typo: bool = True
    typo_share: float = Field(0.1, gt=0, le=1)
    custom: list[dict[str, Any]] = Field(default_factory=list)
    fields: list[str] | None = None
    labels_file: str | None = None


class QuickTrainSpec(_Strict):
    """A small cross-encoder trained on the spot from the bundled MiniLM (offline, minutes on a CPU).

    Args:
        base: Starting weights (``bundled``: all-MiniLM-L6-v2 with a fresh one-logit head).
        data: Training collection (null: the recipe's data).
        splits: Training split: the first of these the collection has. Never the evaluated split.
        max_queries: Training queries (seeded sample).
        negatives: Hard negatives per query, mined from ``negatives_from``'s top results.
        negatives_from: ``dense`` or ``bm25``.
        epochs / batch_size / learning_rate / max_length: Training settings.
        group_size: Documents per training group (one positive and ``group_size - 1`` of the query's mined
            negatives, redrawn every epoch); null: ``negatives + 1`` (all of them).
        warmup_ratio: Share of the steps with a rising learning rate.
        head_init / head_learning_rate: Warm start and own rate of the fresh head (finetune ``model.head_init``
            and ``train.head_learning_rate``).
        seed: Seeds the sample and the training.

    Example:
        >>> QuickTrainSpec(max_queries=50).splits
        ['train', 'dev']
    """

    base: str = "bundled"
    data: str | None = None
    splits: list[str] = Field(default_factory=lambda: ["train", "dev"], min_length=1)
    max_queries: int = Field(300, ge=1)
    negatives: int = Field(3, ge=1, le=64)
    negatives_from: Literal["dense", "bm25"] = "dense"
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(5e-5, gt=0, lt=1)
    max_length: int = Field(256, ge=16)
    group_size: int | None = Field(None, ge=2, le=65)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    head_init: Literal["auto", "none", "labels", "bi_encoder"] = "none"
    head_learning_rate: float | None = Field(None, gt=0, lt=1)
    seed: int = 0


class ModelSpec(_Strict):
    """A named model a rerank stage can refer to: a fixed ``path`` (hub id or folder) or a ``quick_train``.

    Example:
        >>> ModelSpec(path="BAAI/bge-reranker-v2-m3").path
        'BAAI/bge-reranker-v2-m3'
    """

    path: str | None = None
    quick_train: QuickTrainSpec | None = None
    #: A reranking API (TEI, Cohere, Jina, Voyage ...): the fields of rerank_fix.rerank.http_base.HttpRerankerConfig.
    http: dict[str, Any] | None = None
    description: str = ""

    @field_validator("http")
    @classmethod
    def _http_ok(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from rerank_fix.rerank.http_base import HttpRerankerConfig

            try:
                HttpRerankerConfig.from_dict(value, "http")
            except UserInputError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> "ModelSpec":
        if sum(x is not None for x in (self.path, self.quick_train, self.http)) != 1:
            raise ValueError("give exactly one of path (hub id or folder), quick_train and http (a reranking API)")
        return self


class LatencySpec(_Strict):
    """Per-query latency: each stage is timed one query at a time on a seeded sample of queries.

    Args:
        sample: Queries timed (0 switches the probe off; batch time per query is reported instead).

    Example:
        >>> LatencySpec().sample
        30
    """

    sample: int = Field(30, ge=0)


class Recipe(_Strict):
    """A comparison of pipelines on one evaluation set; the first pipeline is the baseline.

    Args:
        name: Recipe name (report title).
        description: Free text for the report.
        data: The evaluation set.
        metrics: Everything reported.
        compare_metrics: Metrics with deltas, p-values and verdicts (the first is the headline).
        strata: How queries are stratified.
        alpha: Significance level for Holm-adjusted p-values.
        min_stratum_size: Smaller strata are shown but not judged.
        folds / seed: Cross-validation for tuned RRF and routing.
        latency: The latency probe.
        models: Named models for rerank stages (added to ``configs/models.yaml``).
        retrievers: Named retriever configs usable by name in stages and RRF.
        defaults: Per-stage-kind default options (``{rerank: {depth: 30}}``).
        pipelines: The systems, baseline first.
        also_compare: Extra paired comparisons, ``[treatment, baseline]`` pipeline names, reported per stratum
            beside the comparisons with the baseline (e.g. a fine-tuned reranker against its starting point).

    Example:
        >>> r = Recipe(name="x", pipelines=[{"name": "dense", "stages": [{"stage": "dense"}]}])
        >>> r.baseline.name
        'dense'
    """

    name: str = "comparison"
    description: str = ""
    data: DataSpec = Field(default_factory=DataSpec)
    metrics: list[str] = Field(default_factory=lambda: ["recall@5", "recall@10", "recall@20", "recall@50",
                                                        "recall@100", "ndcg@10", "mrr@10"])
    compare_metrics: list[str] = Field(default_factory=lambda: ["ndcg@10", "recall@5"], min_length=1)
    strata: StrataSpec = Field(default_factory=StrataSpec)
    alpha: float = Field(0.05, gt=0, lt=1)
    min_stratum_size: int = Field(20, ge=1)
    folds: int = Field(5, ge=2, le=50)
    seed: int = 0
    latency: LatencySpec = Field(default_factory=LatencySpec)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    retrievers: dict[str, Any] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    pipelines: list[PipelineSpec] = Field(min_length=1)
    also_compare: list[tuple[str, str]] = Field(default_factory=list)

    # Set by load_recipe, not part of the YAML.
    source_path: str | None = Field(None, exclude=True)
    base_dir: str | None = Field(None, exclude=True)

    @field_validator("metrics", "compare_metrics")
    @classmethod
    def _metrics_ok(cls, value: list[str]) -> list[str]:
        from rerank_fix.evaluate.metrics import parse_metric

        for name in value:
            try:
                parse_metric(name)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return [m.strip().lower() for m in value]

    @property
    def baseline(self) -> PipelineSpec:
        return self.pipelines[0]

    def pipeline(self, name: str) -> PipelineSpec:
        for p in self.pipelines:
            if p.name == name:
                return p
        raise KeyError(name)

    def resolve_path(self, path: str) -> Path:
        """A path from the recipe: as given when it exists from the current directory, else from the
        project root that holds the recipe."""
        p = Path(path).expanduser()
        if p.is_absolute() or p.exists() or self.base_dir is None:
            return p
        alt = Path(self.base_dir) / p
        return alt if alt.exists() else p

    def all_metrics(self) -> list[str]:
        """``metrics`` plus whatever comparisons, tuning and routing need, in a stable order."""
        extra = list(self.compare_metrics)
        for p in self.pipelines:
            for s in p.specs:
                extra.extend(s.tuned_metrics())
        return list(dict.fromkeys([*self.metrics, *(m.strip().lower() for m in extra)]))


# ------------------------------------------------------------------------------------------ loading
def project_root_for(path: Path) -> Path | None:
    """The nearest folder above ``path`` with a pyproject.toml or .git (where configs/ lives)."""
    for parent in path.resolve().parents:
        if (parent / "pyproject.toml").is_file() or (parent / ".git").exists():
            return parent
    return None


_loc_text = loc_text
_yaml_line = yaml_line


class _Errors:
    """Collects problems as ``file:line: field: message`` lines and raises them together."""

    def __init__(self, source: str, text: str | None, raw: dict[str, Any] | None) -> None:
        self.source, self.text, self.raw = source, text, raw or {}
        self.lines: list[str] = []

    def _pipeline_name(self, loc: tuple[Any, ...]) -> str:
        if len(loc) >= 2 and loc[0] == "pipelines" and isinstance(loc[1], int):
            pipelines = self.raw.get("pipelines")
            if isinstance(pipelines, list) and loc[1] < len(pipelines) and isinstance(pipelines[loc[1]], dict):
                name = pipelines[loc[1]].get("name")
                if isinstance(name, str):
                    return f" (pipeline {name!r})"
        return ""

    def add(self, loc: tuple[Any, ...], message: str) -> None:
        line = _yaml_line(self.text, loc)
        where = f"{self.source}:{line}" if line else self.source
        self.lines.append(f"{where}: {_loc_text(loc)}{self._pipeline_name(loc)}: {message}")

    def raise_if_any(self) -> None:
        if self.lines:
            if len(self.lines) == 1:  # the one-line form: file:line: field: what — fix
                raise ConfigError(self.lines[0])
            raise ConfigError(f"invalid recipe ({len(self.lines)} problems)\n  " + "\n  ".join(self.lines))


def _pydantic_message(err: dict[str, Any]) -> str:
    if err.get("type") == "union_tag_invalid":
        return f"unknown stage; choose one of {', '.join(STAGE_KINDS)}"
    return validation_message(err, "recipes/compare-fixes.yaml")


def project_defaults(recipe_path: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(stage defaults, model aliases)`` from ``configs/stages.yaml`` and ``configs/models.yaml`` of the
    project holding the recipe (empty when there is none)."""
    root = project_root_for(recipe_path) if recipe_path is not None else None
    stages: dict[str, Any] = {}
    models: dict[str, Any] = {}
    if root is not None:
        for name, target in (("stages.yaml", stages), ("models.yaml", models)):
            path = root / "configs" / name
            if path.is_file():
                data, _ = read_yaml(path, "defaults file")
                if data is not None and not isinstance(data, dict):
                    raise ConfigError(f"{path}: expected a mapping at the top level")
                section = (data or {}).get("models" if name == "models.yaml" else "stages", data or {})
                target.update(section or {})
    return stages, models


def merge_models(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Model aliases of the recipe laid over the project's: settings merge field by field, but giving a
    ``path`` replaces a ``quick_train`` (and the reverse), so an alias never ends up with both."""
    out = dict(base)
    for name, spec in over.items():
        current = out.get(name)
        if isinstance(spec, dict) and isinstance(current, dict):
            current = dict(current)
            kinds = ("path", "quick_train", "http")
            if any(k in spec for k in kinds) and not any(k in spec and k in current for k in kinds):
                current = {}  # a different kind of model: nothing of the old definition applies
            out[name] = deep_merge(current, spec)
        else:
            out[name] = spec
    return out


def _normalise_stage(item: Any, loc: tuple[Any, ...], named: dict[str, Any], defaults: dict[str, Any],
                     errors: _Errors, allowed: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """Turn ``dense`` / ``{dense: {...}}`` / ``{stage: dense, ...}`` / a named retriever into
    ``{"stage": kind, ...defaults, ...options}``."""
    allowed = STAGE_KINDS if allowed is None else allowed
    choices = ", ".join(allowed) + (f" or a named retriever ({', '.join(named)})" if named else "")
    if isinstance(item, str):
        kind, options = item, {}
    elif isinstance(item, dict) and "stage" in item:
        kind, options = item["stage"], {k: v for k, v in item.items() if k != "stage"}
    elif isinstance(item, dict) and len(item) == 1:
        kind, options = next(iter(item.items()))
        if options is None:
            options = {}
        if not isinstance(options, dict):
            errors.add((*loc, str(kind)), f"the options of stage {quote(kind)} must be a mapping, got {quote(options)}")
            return None
    else:
        errors.add(loc, f"a stage is a name ({choices}) or a one-key mapping like {{dense: {{top_k: 100}}}}; "
                        f"got {quote(item)}")
        return None
    if isinstance(kind, str) and kind in named and kind not in STAGE_KINDS:
        base = named[kind]
        return deep_merge(base, options)
    if kind not in allowed:
        errors.add(loc if isinstance(item, str) else (*loc, str(kind)),
                   f"unknown stage {quote(kind)}; choose one of {choices}")
        return None
    merged = deep_merge(defaults.get(kind) or {}, options)
    if STAGES.get(kind).role == "fusion":
        retrievers = merged.get("retrievers")
        if isinstance(retrievers, list):
            merged["retrievers"] = [
                _normalise_stage(r, (*loc, kind, "retrievers", i), named, defaults, errors, RETRIEVER_KINDS)
                for i, r in enumerate(retrievers)]
            if any(r is None for r in merged["retrievers"]):
                return None
    return {"stage": kind, **merged}


def parse_recipe(raw: Any, source: str = "recipe", text: str | None = None,
                 recipe_path: Path | None = None) -> Recipe:
    """Validate a recipe mapping; every problem becomes one line of a single :class:`ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a recipe must be a YAML mapping with at least 'pipelines', "
                          f"got {type(raw).__name__}")
    errors = _Errors(source, text, raw)
    stage_defaults, model_aliases = project_defaults(recipe_path)
    if not isinstance(raw.get("defaults", {}), dict):
        errors.add(("defaults",), "must be a mapping of stage kind -> options")
        errors.raise_if_any()
    for section, shape in (("retrievers", "name -> retriever, e.g. retrievers: {wide: {dense: {top_k: 200}}}"),
                           ("models", "name -> model, e.g. models: {mine: {path: runs/finetune/best}}")):
        if not isinstance(raw.get(section) or {}, dict):
            errors.add((section,), f"must be a mapping of {shape}, not a {type(raw[section]).__name__}")
    errors.raise_if_any()
    for kind in raw.get("defaults", {}) or {}:
        if kind not in STAGE_KINDS:
            errors.add(("defaults", kind), f"unknown stage {quote(kind)}; choose one of {', '.join(STAGE_KINDS)}")
    defaults = deep_merge(stage_defaults, raw.get("defaults") or {})

    named: dict[str, Any] = {}
    for name, spec in (raw.get("retrievers") or {}).items():
        norm = _normalise_stage(spec, ("retrievers", name), {}, defaults, errors, RETRIEVER_KINDS)
        if norm is not None:
            named[str(name)] = norm

    data = dict(raw)
    pipelines = raw.get("pipelines")
    if isinstance(pipelines, list):
        new_pipelines = []
        for i, p in enumerate(pipelines):
            if not isinstance(p, dict):
                errors.add(("pipelines", i), "a pipeline is a mapping with 'name' and 'stages' (or 'route')")
                continue
            p = dict(p)
            if isinstance(p.get("stages"), list):
                stages = [_normalise_stage(s, ("pipelines", i, "stages", j), named, defaults, errors)
                          for j, s in enumerate(p["stages"])]
                p["stages"] = [s for s in stages if s is not None]
            new_pipelines.append(p)
        data["pipelines"] = new_pipelines
    errors.raise_if_any()

    data["models"] = merge_models(model_aliases, raw.get("models") or {})
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            # Inside a discriminated union pydantic adds the tag; it is also the key the user wrote.
            errors.add(loc, _pydantic_message(err))
        errors.raise_if_any()
        raise  # pragma: no cover - errors were collected above
    recipe.source_path = str(recipe_path) if recipe_path else None
    base = project_root_for(recipe_path) if recipe_path else None
    recipe.base_dir = str(base) if base else None
    check_recipe(recipe, errors)
    errors.raise_if_any()
    return recipe


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or "\\" in value or value.count("/") > 1


def check_model_reference(recipe: Recipe, value: str) -> str | None:
    """Why ``value`` cannot be a model reference, or None when it can."""
    if value in recipe.models:
        spec = recipe.models[value]
        if spec.http is not None:
            return None  # validated with the recipe
        if spec.path is not None:
            return check_model_reference(recipe.model_copy(update={"models": {}}), spec.path)
        return None
    from rerank_fix.models import BUNDLED_NAMES

    if value in BUNDLED_NAMES:
        return None  # the bundled MiniLM: as a cross-encoder its head is fresh (the "before" of a fine-tune)
    from rerank_fix.rerank.http_base import HttpRerankerConfig, is_http_reranker

    if is_http_reranker(value):
        try:
            HttpRerankerConfig.from_uri(value)
        except UserInputError as exc:
            return str(exc)
        return None
    if value.startswith("trained:"):
        return (f"no model named {value.removeprefix('trained:')!r} in models: (known: "
                f"{', '.join(recipe.models) or 'none'})")
    if _looks_like_path(value) or Path(value).expanduser().exists():
        if not recipe.resolve_path(value).exists():
            places = list(dict.fromkeys([str(Path.cwd()), *([recipe.base_dir] if recipe.base_dir else [])]))
            return (f"model path {value!r} does not exist (looked in {' and '.join(places)}); train one first "
                    f"(rerank-fix finetune ...), fix the path, or use a name from models: "
                    f"({', '.join(recipe.models) or 'none defined'})")
        return None
    if "/" not in value:
        return (f"{value!r} is neither a name from models: ({', '.join(recipe.models) or 'none defined'}), "
                "an existing folder, nor a hub id like BAAI/bge-reranker-v2-m3")
    return None


def check_recipe(recipe: Recipe, errors: _Errors) -> None:
    """Cross-field checks pydantic cannot express field by field."""
    names = [p.name for p in recipe.pipelines]
    for i, (treatment, baseline) in enumerate(recipe.also_compare):
        for j, name in enumerate((treatment, baseline)):
            if name not in names:
                errors.add(("also_compare", i, j), f"no pipeline named {name!r} (pipelines: {', '.join(names)})")
        if treatment == baseline:
            errors.add(("also_compare", i), f"compares {treatment!r} with itself; name two different pipelines")

    seen: dict[str, int] = {}
    for i, p in enumerate(recipe.pipelines):
        loc = ("pipelines", i)
        if p.name in seen:
            errors.add((*loc, "name"), f"pipeline name {p.name!r} is already used by pipelines[{seen[p.name]}]")
        seen.setdefault(p.name, i)
        if p.route is not None:
            p.route.check(recipe, lambda where, message, rloc=(*loc, "route"): errors.add((*rloc, *where), message))
            continue
        _check_stage_order(recipe, p, loc, errors)


def _check_stage_order(recipe: Recipe, p: PipelineSpec, loc: tuple[Any, ...], errors: _Errors) -> None:
    """``[rewrite] -> retriever | fusion -> [rerank ...]``, by role; each stage then checks itself."""
    depth: int | None = None
    depth_from = ""
    have_first = False
    first_kinds = ", ".join(FIRST_STAGE_KINDS[:-1]) + " or " + FIRST_STAGE_KINDS[-1]
    for j, s in enumerate(p.stages):
        sloc = (*loc, "stages", j, s.stage)
        if s.role == "rewrite":
            if have_first:
                errors.add(sloc, "rewrite must come before the retrieval stage (it changes what is retrieved)")
            if j > 0 and any(t.role == "rewrite" for t in p.stages[:j]):
                errors.add(sloc, "only one rewrite stage per pipeline")
        elif s.role in ("retriever", "fusion"):
            if have_first:
                errors.add(sloc, f"a pipeline has one retrieval stage ({first_kinds}); "
                                 "to combine retrievers use one rrf stage with retrievers: [dense, bm25]")
            have_first = True
            depth, depth_from = s.top_k, f"{s.stage} top_k={s.top_k}"
        elif s.role == "rerank":
            if not have_first:
                errors.add(sloc, f"rerank needs a retrieval stage ({first_kinds}) before it")
                continue
            if depth is not None and s.depth > depth:
                errors.add((*sloc, "depth"), f"rerank depth {s.depth} is deeper than the previous stage returns "
                                             f"({depth_from}); lower depth or raise top_k there")
            # The reranked list keeps the stage-one tail, so a later rerank is bounded by stage one too.
        s.check(recipe, lambda where, message, sloc=sloc: errors.add((*sloc, *where), message))
    if not have_first:
        errors.add((*loc, "stages"), f"no retrieval stage; add {first_kinds}")


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read and validate a recipe file.

    Args:
        path: The YAML file.
        overrides: Dotted keys laid over the file before validation, e.g. ``{"data.split": "dev"}``.

    Example:
        >>> recipe = load_recipe("recipes/compare-fixes.yaml")  # doctest: +SKIP
        >>> [p.name for p in recipe.pipelines]                   # doctest: +SKIP
        ['dense', 'dense+rerank', 'bm25', 'rrf', 'weighted-rrf', 'rrf+rerank', 'routed']
    """
    path = Path(path)
    raw, text = read_yaml(path, "recipe file")
    raw = {} if raw is None else raw
    if isinstance(raw, dict):
        raw = apply_dotted_overrides(raw, overrides, "recipe")
    return parse_recipe(raw, source=str(path), text=text, recipe_path=path)


def stage_key(stage: BaseModel) -> str:
    """A canonical string for a stage config: equal configs share cached results."""
    return json.dumps(stage.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
