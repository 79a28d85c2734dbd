"""The mining config: typed, validated, readable from YAML, overridable from the command line."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rerank_fix.errors import ConfigError

RETRIEVERS = ("dense", "bm25", "hybrid")


def parse_range(text: str) -> tuple[int, int]:
    """Parse a rank window ``"3:100"`` (or FlagEmbedding's ``"3-100"``) into ``(3, 100)``.

    Example:
        >>> parse_range("3:100")
        (3, 100)
    """
    raw = str(text).strip()
    sep = ":" if ":" in raw else "-" if "-" in raw.lstrip("-") else None
    parts = raw.split(sep) if sep else []
    try:
        low, high = (int(p.strip()) for p in parts)
    except ValueError:
        raise ConfigError(f"--range {text!r}: expected two integers like 3:100 (skip the top 3 ranks, "
                          "take candidates down to rank 100)") from None
    return low, high


class MineConfig(BaseModel):
    """Everything that decides which negatives are mined; ``configs/mine/defaults.yaml`` annotates each field.

    Args:
        retriever: Candidate source: ``dense``, ``bm25`` or ``hybrid`` (RRF of both).
        range_min: Skip the first ``range_min`` retrieval ranks (positives included in the count, as in
            FlagEmbedding's ``range_for_sampling``): the top of the ranking is where unlabeled positives cluster.
        range_max: Retrieve this deep; candidates are the ranks ``range_min + 1 .. range_max`` (1-based).
        negatives: Negatives per query.
        sampling: ``top`` (the best-ranked candidates that pass every filter) or ``random`` (a seeded uniform
            sample of the candidates in the window that pass every filter).
        seed: Seeds ``random`` sampling and typo augmentation; each query gets its own stream, so results do
            not depend on batch order.
        false_negative_filter: Master switch of the three false-negative checks below (on by default).
        duplicate_check: Check (a), duplicates of a positive; on by default (needs ``false_negative_filter``).
        near_duplicate_threshold: Word-shingle Jaccard similarity at or above which a candidate counts as a
            near-duplicate of a positive. Exact duplicates (same normalised text) are always caught.
        shingle_size: Words per shingle for the Jaccard check (texts shorter than this use single words).
        relative_margin: Bi-encoder check: drop a candidate whose cosine similarity to the query exceeds
            ``pos - |pos| * relative_margin``, ``pos`` being the lowest similarity among the query's positives
            (sentence-transformers' ``mine_hard_negatives`` rule). ``None`` switches it off.
        absolute_margin: Bi-encoder check: drop a candidate whose similarity exceeds ``pos - absolute_margin``.
        max_score: False-negative check: drop a candidate whose bi-encoder similarity is above this.
        min_score: Drop candidates whose bi-encoder similarity is below this (too easy to teach anything);
            a selection setting, so it applies even with the false-negative filter off.
        teacher: Cross-encoder id or path used as a false-negative judge; ``None`` skips that check.
        teacher_fraction: Drop a candidate when ``sigmoid(teacher logit)`` is at least this fraction of the
            positive's ``sigmoid(logit)`` (lowest positive). Probabilities, not raw logits, so the rule keeps its
            meaning when logits are negative.
        teacher_batch_size / teacher_max_length: Scoring batch size and token limit of the teacher.
        model: Bi-encoder for dense retrieval and the margin check (``None``: bundled all-MiniLM-L6-v2).
        batch_size: Bi-encoder encoding batch size.
        query_prefix / doc_prefix: Instruction prefixes for models that need them (``"query: "`` for E5).
        cache_dir: Embedding cache folder (``None``: the shared default).
        device: Torch device for the bi-encoder and the teacher (``None``: CUDA when available, else CPU).
        bm25_k1 / bm25_b: BM25 parameters for ``bm25`` and ``hybrid``.
        rrf_k: RRF damping constant for ``hybrid``.
        query_block: Queries processed together: bounds the similarity block and the teacher batch.
        typo_rate: Per-letter noise rate of typo-augmented copies of each training query; 0 switches it off.
        typo_copies: Typo copies per query (each reuses the clean query's positives and negatives).
        teacher_backend: Scorer backend of the teacher (a name in ``rerank_fix.rerank.SCORERS``; ``torch``:
            a sentence-transformers CrossEncoder). Any registered reranker can be a teacher.
        teacher_filter: Use the teacher as a false-negative judge (default). ``False`` only records its
            scores (``pos_scores``/``neg_scores`` in triples.jsonl, for distillation) and drops nothing.
        audit: Record every candidate a false-negative check dropped and write ``audit.jsonl`` and
            ``audit.html`` (suspected false negatives for a person to label).

    Example:
        >>> MineConfig(range_min=3, range_max=100, negatives=15).sampling
        'top'
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    retriever: Literal["dense", "bm25", "hybrid"] = "dense"
    range_min: int = Field(3, ge=0)
    range_max: int = Field(100, ge=1, le=10_000)
    negatives: int = Field(15, ge=1)
    sampling: Literal["top", "random"] = "top"
    seed: int = 42
    false_negative_filter: bool = True
    duplicate_check: bool = True
    near_duplicate_threshold: float = Field(0.8, gt=0.0, le=1.0)
    shingle_size: int = Field(3, ge=1, le=10)
    relative_margin: float | None = Field(0.05, ge=0.0, le=1.0)
    absolute_margin: float | None = Field(None, ge=0.0)
    max_score: float | None = None
    min_score: float | None = None
    teacher: str | None = None
    teacher_fraction: float = Field(0.95, gt=0.0, le=1.0)
    teacher_batch_size: int = Field(32, ge=1)
    teacher_max_length: int = Field(512, ge=8)
    model: str | None = None
    batch_size: int = Field(64, ge=1)
    query_prefix: str = ""
    doc_prefix: str = ""
    cache_dir: str | None = None
    device: str | None = None
    bm25_k1: float = Field(0.9, ge=0.0)
    bm25_b: float = Field(0.4, ge=0.0, le=1.0)
    rrf_k: float = Field(60.0, ge=0.0)
    query_block: int = Field(256, ge=1)
    typo_rate: float = Field(0.0, ge=0.0, le=0.5)
    typo_copies: int = Field(1, ge=1, le=20)
    teacher_backend: str = "torch"
    teacher_filter: bool = True
    audit: bool = False

    @model_validator(mode="after")
    def _window(self) -> "MineConfig":
        if self.range_min >= self.range_max:
            raise ValueError(f"the rank window {self.range_min}:{self.range_max} is empty; range_min must be "
                             "below range_max (e.g. 3:100)")
        if self.negatives > self.range_max - self.range_min:
            raise ValueError(f"cannot mine {self.negatives} negatives from the {self.range_max - self.range_min} "
                             f"ranks of the window {self.range_min}:{self.range_max}; widen the window or lower "
                             "negatives")
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise ValueError(f"min_score {self.min_score} is above max_score {self.max_score}")
        return self

    @property
    def uses_bi_encoder_check(self) -> bool:
        """Whether any check on the candidate's bi-encoder similarity is active."""
        false_negative_checks = (self.relative_margin, self.absolute_margin, self.max_score)
        return self.min_score is not None or (
            self.false_negative_filter and any(v is not None for v in false_negative_checks))

    @property
    def needs_dense(self) -> bool:
        """The bi-encoder is needed for retrieval, or for a similarity check."""
        return self.retriever in ("dense", "hybrid") or self.uses_bi_encoder_check


def format_validation_error(source: str, exc: ValidationError, text: str | None = None) -> str:
    from rerank_fix.config_io import format_validation_error as format_error

    return format_error(exc, source, "mining config", text, "configs/mine/defaults.yaml")


def build_config(raw: dict[str, Any] | None = None, source: str = "mining options", text: str | None = None,
                 **overrides: Any) -> MineConfig:
    """Validate ``raw`` (e.g. a YAML mapping) updated with ``overrides``; errors name every bad field.

    Example:
        >>> build_config({"negatives": 7}, retriever="bm25").negatives
        7
    """
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{source}: a mining config must be a mapping, got {type(raw).__name__}")
    merged = {**(raw or {}), **overrides}
    try:
        return MineConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, text)) from None


def load_mine_config(path: str | Path, **overrides: Any) -> MineConfig:
    """Read a YAML mining config; keyword overrides (from the command line) win over the file."""
    from rerank_fix.config_io import read_yaml

    raw, text = read_yaml(path, "mining config")
    return build_config(raw or {}, str(path), text, **overrides)
