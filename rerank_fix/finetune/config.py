"""The fine-tuning config: typed, validated, loaded from YAML, with warnings for known failure modes."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rerank_fix.errors import ConfigError

LOSSES = ("group_ce", "bce", "lambda", "listnet", "margin_mse")
LAMBDA_SCHEMES = ("ndcg2pp", "ndcg2", "ndcg1", "lambdarank", "none")

# FlagEmbedding issue #731: OOM at max length 1024 on bge-reranker-v2-m3 with default settings.
LONG_MAX_LENGTH = 512
# FlagEmbedding issue #858: scores collapse to a constant above roughly this learning rate.
HIGH_LEARNING_RATE = 6e-5
# Above this size a model counts as a large pretrained reranker for the learning-rate warning.
LARGE_MODEL_PARAMETERS = 100_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Strict):
    """Which cross-encoder to start from.

    Args:
        name_or_path: Hub id, local folder, or ``bundled`` (all-MiniLM-L6-v2 with a fresh one-logit head).
        max_length: Tokens per (query, document) pair; longer pairs are truncated.
        random_init_if_unavailable: When the weights cannot be loaded (offline), build the architecture
            with random weights instead of failing. Only for proving the code path; never for real runs.
        architecture: Fallback architecture for ``random_init_if_unavailable`` and the dry run when the
            hub config cannot be read: ``xlm-roberta-large`` (the bge-reranker-v2-m3 backbone) or ``auto``.
        trust_remote_code: Passed to transformers for models with custom code.
        attn_implementation: ``sdpa`` / ``eager`` / ``flash_attention_2``, or ``null`` for the default.
        head_init: Warm start of a fresh one-logit head (:mod:`rerank_fix.finetune.head_init`): ``none``
            (default) keeps the random draw; ``auto`` fits it as a linear probe on the relevance labels when
            the checkpoint has no classification head, and leaves trained heads alone; ``labels`` /
            ``bi_encoder`` always fit it (to the labels, or to the bi-encoder's cosine similarity). Off by
            default: on the demo it lowered the starting loss (1.267 against chance 1.386) but not the
            nDCG@10 after 30 steps.
        head_init_queries: Training groups the probe is fitted on (forward passes only).
        head_init_scale: Within-group spread of the starting scores, in logits; ``null`` chooses it by
            cross-validated group loss (label target) or uses 2.0 (bi-encoder target).

    Example:
        >>> ModelConfig(name_or_path="bundled", max_length=128).max_length
        128
    """

    name_or_path: str = "bundled"
    max_length: int = Field(256, ge=8, le=32768)
    random_init_if_unavailable: bool = False
    architecture: Literal["auto", "xlm-roberta-large"] = "auto"
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    head_init: Literal["auto", "none", "labels", "bi_encoder"] = "none"
    head_init_queries: int = Field(64, ge=1)
    head_init_scale: float | None = Field(None, gt=0)


class DataConfig(_Strict):
    """Training triples and how a training group is drawn from them.

    Args:
        triples: FlagEmbedding JSONL (``{"query", "pos": [...], "neg": [...]}`` per line) or a folder
            written by ``datasets.Dataset.save_to_disk`` with the same columns.
        group_size: Documents per query in one training group: one positive plus ``group_size - 1`` negatives.
        too_few_negatives: What to do with a query that has fewer than ``group_size - 1`` negatives:
            ``error`` (default), ``drop`` the query, or ``repeat`` its negatives (FlagEmbedding's behaviour).
        max_triples: Use only the first N queries (after dropping dev queries); ``null`` for all.
        shuffle_subset: Take the ``max_triples`` subset at random (seeded) rather than the first N.

    Example:
        >>> DataConfig(triples="triples.jsonl", group_size=8).group_size
        8
    """

    triples: str
    group_size: int = Field(8, ge=2, le=256)
    too_few_negatives: Literal["error", "drop", "repeat"] = "error"
    max_triples: int | None = Field(None, ge=1)
    shuffle_subset: bool = True


class AugmentConfig(_Strict):
    """Typo augmentation of training queries (robustness to misspelled queries).

    Args:
        typos: Switch augmentation on.
        probability: Chance that a given training query is corrupted in a given epoch.
        rate: Per-character corruption rate inside a corrupted query.

    Example:
        >>> AugmentConfig(typos=True, rate=0.1).probability
        0.3
    """

    typos: bool = False
    probability: float = Field(0.3, ge=0.0, le=1.0)
    rate: float = Field(0.05, gt=0.0, le=0.5)


class LossConfig(_Strict):
    """The training objective.

    Args:
        name: ``group_ce`` (softmax cross-entropy over one positive and its mined negatives, FlagEmbedding's
            recipe; default), ``bce`` (pointwise binary cross-entropy), ``lambda`` (LambdaLoss) or ``listnet``.
        lambda_scheme: Weighting scheme for LambdaLoss.
        bce_pos_weight: Weight of the positive class for ``bce``; ``null`` for none, ``auto`` for
            ``group_size - 1`` (balances one positive against its negatives).
        mini_batch_size: Pairs per forward pass inside the loss (memory cap); ``null`` scores a micro-batch at once.
        labels: What the loss is trained towards: ``binary`` (1 for the positive, 0 for the negatives),
            ``teacher`` (the triples' ``pos_scores``/``neg_scores``: distillation from a larger reranker), or
            ``auto`` (``teacher`` for ``margin_mse``, ``binary`` otherwise). ``margin_mse`` (sentence-
            transformers' MarginMSELoss on positive-minus-negative teacher margins) needs teacher scores;
            ``listnet`` accepts either; ``group_ce``, ``bce`` and ``lambda`` need binary labels.
        teacher_temperature: Teacher scores are divided by this before ``listnet``'s softmax (FlagEmbedding's
            distillation temperature); ignored by the other losses.

    Example:
        >>> LossConfig(name="lambda").lambda_scheme
        'ndcg2pp'
        >>> LossConfig(name="margin_mse").uses_teacher_scores
        True
    """

    name: str = "group_ce"
    lambda_scheme: str = "ndcg2pp"
    bce_pos_weight: float | Literal["auto"] | None = None
    mini_batch_size: int | None = Field(None, ge=1)
    labels: Literal["auto", "binary", "teacher"] = "auto"
    teacher_temperature: float = Field(1.0, gt=0)

    @property
    def uses_teacher_scores(self) -> bool:
        return self.labels == "teacher" or (self.labels == "auto" and self.name == "margin_mse")

    @model_validator(mode="after")
    def _labels_fit_loss(self) -> "LossConfig":
        if self.name == "margin_mse" and self.labels == "binary":
            raise ValueError("loss margin_mse distils teacher margins; it needs labels: teacher (or auto)")
        if self.name in ("group_ce", "bce", "lambda") and self.labels == "teacher":
            raise ValueError(f"loss {self.name} trains on binary labels; for teacher scores use margin_mse or "
                             "listnet")
        return self

    @field_validator("name")
    @classmethod
    def _known_loss(cls, value: str) -> str:
        if value not in LOSSES:
            raise ValueError(f"unknown loss {value!r}; choose one of {', '.join(LOSSES)}")
        return value

    @field_validator("lambda_scheme")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value not in LAMBDA_SCHEMES:
            raise ValueError(f"unknown LambdaLoss scheme {value!r}; choose one of {', '.join(LAMBDA_SCHEMES)}")
        return value


class TrainConfig(_Strict):
    """Optimisation settings (mapped onto ``CrossEncoderTrainingArguments``).

    Args:
        epochs: Passes over the triples.
        max_steps: Stop after this many optimizer steps (overrides ``epochs``); ``-1`` for none.
        per_device_batch_size: Queries (training groups) per device per micro-batch; each brings
            ``group_size`` pairs, so a micro-batch scores ``per_device_batch_size * group_size`` pairs.
        gradient_accumulation_steps: Micro-batches per optimizer step.
        learning_rate / warmup_ratio / weight_decay / lr_scheduler / max_grad_norm: As in transformers.
        bf16 / fp16: Mixed precision; on a machine without CUDA they are switched off with a warning.
        gradient_checkpointing: Recompute activations in the backward pass (less memory, ~30% more compute).
        optim: transformers optimizer name.
        save_steps: Write a resumable checkpoint every N optimizer steps.
        save_total_limit: Keep only the newest N checkpoints (at least 2, so a kill while one is being
            written always leaves a complete one).
        logging_steps: Log the loss every N steps (1 gives a per-step curve).
        head_learning_rate: Learning rate of the classification head (``null``: ``learning_rate``); a
            fresh head usually wants more than the pretrained encoder under it.

    Example:
        >>> TrainConfig(learning_rate=2e-5, bf16=True, gradient_checkpointing=True).warmup_ratio
        0.1
    """

    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1
    per_device_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    learning_rate: float = Field(3e-5, gt=0, lt=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    lr_scheduler: str = "linear"
    max_grad_norm: float = Field(1.0, ge=0)
    bf16: bool = False
    fp16: bool = False
    gradient_checkpointing: bool = False
    optim: str = "adamw_torch"
    save_steps: int = Field(100, ge=1)
    save_total_limit: int = Field(2, ge=2)
    logging_steps: int = Field(1, ge=1)
    head_learning_rate: float | None = Field(None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_precision(self) -> "TrainConfig":
        if self.bf16 and self.fp16:
            raise ValueError("set at most one of bf16 and fp16")
        return self


class EvalConfig(_Strict):
    """Evaluation in the loop: rerank stage-one candidates of dev queries and keep the best checkpoint.

    Args:
        enabled: Evaluate during training (model selection + early stopping).
        data: The evaluation collection (BEIR folder or anything ``load_eval_set`` reads).
        split: qrels split holding the dev queries.
        dev_fraction: Carve the dev queries out of ``split`` (seeded) and drop them from the training
            triples; use when the collection has no separate dev split (scifact: train).
        max_queries: Cap on dev queries (seeded sample), to bound the cost of each evaluation.
        test_split: The held-out split of ``data``. It is never used for selection: a config whose
            ``split`` equals it is refused, and training triples whose queries are test queries are refused.
        first_stage: ``dense``, ``bm25``, or a TREC run file with stage-one candidates for the dev queries.
        first_stage_model: Bi-encoder for ``dense`` (``null``: the bundled all-MiniLM-L6-v2).
        depth: Rerank this many stage-one candidates per query.
        metric: Selection metric (``ndcg@10``, ``recall@5``, ``mrr@10`` ...).
        metrics: Everything reported at each evaluation.
        strategy / steps: Evaluate every epoch, or every N steps.
        batch_size: Pairs per scoring batch.
        early_stopping_patience: Stop after this many evaluations without improvement; ``null``: never.
        stratify_by: Query metadata field for the stratified breakdown; ``null``: the shared default.

    Example:
        >>> EvalConfig(data="../shared/data/scifact", split="train", dev_fraction=0.1).depth
        50
    """

    enabled: bool = True
    data: str | None = None
    split: str = "dev"
    dev_fraction: float | None = Field(None, gt=0, lt=1)
    max_queries: int | None = Field(None, ge=1)
    test_split: str = "test"
    first_stage: str = "dense"
    first_stage_model: str | None = None
    depth: int = Field(50, ge=1, le=1000)
    metric: str = "ndcg@10"
    metrics: list[str] = Field(default_factory=lambda: ["ndcg@10", "recall@5", "mrr@10"])
    strategy: Literal["epoch", "steps"] = "epoch"
    steps: int = Field(100, ge=1)
    batch_size: int = Field(64, ge=1)
    early_stopping_patience: int | None = Field(2, ge=1)
    stratify_by: str | None = None

    @model_validator(mode="after")
    def _checks(self) -> "EvalConfig":
        from rerank_fix.evaluate.metrics import parse_metric

        for name in [self.metric, *self.metrics]:
            try:
                parse_metric(name)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        if self.metric not in self.metrics:
            self.metrics = [self.metric, *self.metrics]
        if self.enabled and not self.data:
            raise ValueError("eval.data is required when eval.enabled is true (or set eval.enabled: false)")
        if self.split == self.test_split:
            raise ValueError(
                f"eval.split {self.split!r} is the held-out test split; the test split is never used for model "
                "selection. Use a dev split, or carve one out of the training split with eval.split: train "
                "and eval.dev_fraction: 0.1")
        return self


class FinetuneConfig(_Strict):
    """Everything a fine-tuning run needs; see ``configs/finetune/*.yaml`` for annotated examples.

    Args:
        name: Run name (model card title, logs).
        output_dir: Run folder: checkpoints, loss log, curve PNG, the best model.
        seed: Seeds data order, negative sampling, augmentation and initialisation.
        model / data / augment / loss / train / eval: The sections above.

    Example:
        >>> cfg = FinetuneConfig(output_dir="runs/x", data={"triples": "t.jsonl"}, eval={"enabled": False})
        >>> cfg.loss.name
        'group_ce'
    """

    name: str = "finetune"
    output_dir: str = "runs/finetune"
    seed: int = 42
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=lambda: EvalConfig(enabled=False))

    # Where relative paths in the file are anchored; set by load_config, not part of the YAML.
    base_dir: str | None = Field(None, exclude=True)

    def resolve(self, path: str | None) -> Path | None:
        """A path from the config, relative paths taken from the config file's project root."""
        if path is None:
            return None
        p = Path(path).expanduser()
        if p.is_absolute() or self.base_dir is None:
            return p
        return Path(self.base_dir) / p

    @property
    def run_dir(self) -> Path:
        return self.resolve(self.output_dir)  # type: ignore[return-value]

    def to_yaml_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"base_dir"})


def _format_validation_error(source: str, exc: ValidationError, text: str | None = None) -> str:
    from rerank_fix.config_io import format_validation_error

    return format_validation_error(exc, source, "fine-tuning config", text, "configs/finetune/*.yaml")


def parse_config(raw: dict[str, Any], source: str = "config", base_dir: str | Path | None = None,
                 text: str | None = None) -> FinetuneConfig:
    """Validate a config dict; errors become one :class:`ConfigError` naming every bad field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a fine-tuning config must be a YAML mapping, got {type(raw).__name__}")
    try:
        cfg = FinetuneConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc, text)) from None
    cfg.base_dir = str(base_dir) if base_dir is not None else None
    return cfg


def project_root_for(path: Path) -> Path:
    """Relative paths in ``configs/finetune/x.yaml`` are meant from the project root (where ``make`` runs)."""
    path = path.resolve()
    for parent in path.parents:
        if (parent / "pyproject.toml").is_file() or (parent / ".git").exists():
            return parent
    return Path.cwd()


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> FinetuneConfig:
    """Read and validate a YAML config.

    Relative paths inside it are resolved against the current directory when they exist there, else
    against the project root that holds the config, so ``make finetune`` and a run from elsewhere agree.

    Args:
        path: YAML file.
        overrides: Dotted keys to set after reading, e.g. ``{"train.max_steps": 10}``.

    Example:
        >>> cfg = load_config("configs/finetune/cpu-minilm.yaml")  # doctest: +SKIP
    """
    from rerank_fix.config_io import apply_dotted_overrides, read_yaml

    from rerank_fix.config_io import require_mapping

    path = Path(path)
    raw, text = read_yaml(path, "config file")
    raw = raw or {}
    for section in ("model", "data", "eval", "train", "loss", "augment"):
        require_mapping(raw.get(section), section, str(path))
    raw = apply_dotted_overrides(raw, overrides, "config")
    base = Path.cwd() if _paths_exist_from(raw, Path.cwd()) else project_root_for(path)
    return parse_config(raw, source=str(path), base_dir=base, text=text)


def _paths_exist_from(raw: dict[str, Any], base: Path) -> bool:
    triples = (raw.get("data") or {}).get("triples")
    return bool(triples) and (base / str(triples)).exists()


def config_warnings(cfg: FinetuneConfig) -> list[str]:
    """Known ways a config fails in practice, as human-readable warnings (not errors)."""
    warnings = []
    if cfg.model.max_length > LONG_MAX_LENGTH:
        warnings.append(
            f"model.max_length={cfg.model.max_length} > {LONG_MAX_LENGTH}: users report out-of-memory errors "
            "fine-tuning bge-reranker-v2-m3 at 1024 (FlagEmbedding issue #731). Activation memory grows at "
            "least linearly with length; keep gradient_checkpointing on and lower per_device_batch_size, or "
            "stay at 512 (check the estimate with --dry-run).")
    if cfg.train.warmup_ratio == 0:
        warnings.append("train.warmup_ratio=0: no warmup; a fresh classification head with no warmup "
                        "is a common cause of score collapse. 0.1 is the usual value.")
    if not math.isclose(cfg.train.epochs, round(cfg.train.epochs)) and cfg.eval.strategy == "epoch":
        warnings.append(f"train.epochs={cfg.train.epochs} is fractional; the last partial epoch ends "
                        "without an evaluation unless eval.strategy is 'steps'.")
    return warnings


def size_warnings(cfg: FinetuneConfig, n_params: int) -> list[str]:
    """Warnings that need the model's size."""
    warnings = []
    # The collapse reports are about large pretrained rerankers; a fresh head on a 22M-parameter model
    # needs ~1e-4 to leave chance at all (configs/finetune/cpu-minilm.yaml), and the dev-score spread
    # check catches a collapse at any size.
    if n_params > LARGE_MODEL_PARAMETERS and cfg.train.learning_rate > HIGH_LEARNING_RATE:
        warnings.append(
            f"train.learning_rate={cfg.train.learning_rate:g} > {HIGH_LEARNING_RATE:g} for a model of "
            f"{n_params / 1e6:.0f}M parameters: fine-tuned rerankers have collapsed to near-constant scores at "
            "high learning rates (FlagEmbedding issue #858). 2e-5 to 6e-5 with warmup is the tested range.")
    if not cfg.train.gradient_checkpointing and n_params > 300_000_000:
        warnings.append(f"train.gradient_checkpointing is off for a model of {n_params / 1e6:.0f}M parameters; "
                        "activation memory will dominate (see the estimate of --dry-run).")
    return warnings
