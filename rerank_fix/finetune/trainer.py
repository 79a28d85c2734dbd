"""The fine-tuning run: sentence-transformers' CrossEncoderTrainer plus resumable state, in-loop dev
evaluation with best-checkpoint selection and early stopping, gap-free logs and a training curve."""
from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_fix.errors import ConfigError, UserInputError
from rerank_fix.finetune.checkpoint import (STATE_FILE, append_log, checkpoints, latest_complete_checkpoint,
                                            read_log, read_state, replace_dir_atomic, truncate_log,
                                            write_json_atomic)

if TYPE_CHECKING:
    from rerank_fix.finetune.config import FinetuneConfig
    from rerank_fix.finetune.data import GroupSampler

logger = logging.getLogger("rerank_fix.finetune")

LOSS_LOG = "loss_log.jsonl"
EVAL_LOG = "eval_log.jsonl"
CURVE = "training_curve.png"
SUMMARY = "summary.json"
CONFIG_COPY = "config.yaml"
BEST_DIR = "best"
FINAL_DIR = "final"
CHECKPOINT_DIR = "checkpoints"


@dataclass
class FinetuneResult:
    """What a finished run produced.

    Args:
        run_dir: The run folder.
        model_dir: The model to use: ``best/`` (selected on dev) or ``final/`` (no evaluation).
        global_step: Optimizer steps done.
        best_step / best_metric: Where the selection metric peaked (``None`` without evaluation).
        summary: Everything written to ``summary.json``.

    Example:
        >>> result = run_finetune(cfg)  # doctest: +SKIP
        >>> CrossEncoder(str(result.model_dir))  # doctest: +SKIP
    """

    run_dir: Path
    model_dir: Path
    global_step: int
    best_step: int | None
    best_metric: float | None
    summary: dict[str, Any] = field(default_factory=dict)


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


@contextlib.contextmanager
def preserved_rng_state():
    """Run a block without changing the python, numpy and torch (CPU and CUDA) random states."""
    import random

    import numpy as np
    import torch

    py_state, np_state, torch_state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def _callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class RunCallback(_callback_base()):  # type: ignore[misc]
    """Logs, epoch clock, best-model selection, early stopping and the checkpoint completion marker.

    One callback so that the state that must survive a resume (best metric, best step, evaluations
    without improvement) is written in one place: ``checkpoint-N/rerank_fix_state.json``, last.

    Args:
        run_dir: Run folder (logs, ``best/``, the curve).
        sampler: The training set's group sampler, told the epoch before its batches are drawn.
        metric: Selection metric (without the ``eval_`` prefix).
        patience: Evaluations without improvement before stopping; ``None`` never stops early.
        evaluator: The dev evaluator, whose stratified breakdown goes to the eval log.
        state: Restored state of a resumed run.

    Example:
        >>> cb = RunCallback(Path("runs/x"), GroupSampler(8, 42), "ndcg@10", patience=2)  # doctest: +SKIP
        >>> trainer = RerankTrainer(..., callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, run_dir: Path, sampler: "GroupSampler", metric: str | None, patience: int | None,
                 evaluator: Any = None, state: dict[str, Any] | None = None) -> None:
        self.run_dir = run_dir
        self.sampler = sampler
        self.metric = metric
        self.patience = patience
        self.evaluator = evaluator
        state = state or {}
        self.best_metric: float | None = state.get("best_metric")
        self.best_step: int | None = state.get("best_step")
        self.bad_evals: int = state.get("bad_evals", 0)
        self.last_eval_step: int | None = state.get("last_eval_step")
        self.stopped_early: bool = state.get("stopped_early", False)

    def state(self) -> dict[str, Any]:
        return {"best_metric": self.best_metric, "best_step": self.best_step, "bad_evals": self.bad_evals,
                "last_eval_step": self.last_eval_step, "stopped_early": self.stopped_early}

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is the float position; its floor is the epoch about to run, resumed mid-epoch too.
        self.sampler.epoch = int(math.floor((state.epoch or 0.0) + 1e-9))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        append_log(self.run_dir / LOSS_LOG, {
            "step": state.global_step, "epoch": round(state.epoch or 0.0, 6), "loss": logs["loss"],
            "learning_rate": logs.get("learning_rate"), "grad_norm": logs.get("grad_norm")})

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if not metrics or self.metric is None:
            return
        value = metrics.get(f"eval_{self.metric}")
        if value is None:
            return
        step = state.global_step
        self.last_eval_step = step
        if state.is_world_process_zero:
            history = getattr(self.evaluator, "history", None)
            strata = history[-1]["strata"] if history and history[-1]["step"] == step else []
            append_log(self.run_dir / EVAL_LOG, {
                "step": step, "epoch": round(state.epoch or 0.0, 6),
                "metrics": {k.removeprefix("eval_"): v for k, v in metrics.items()
                            if isinstance(v, (int, float)) and k.startswith("eval_")
                            and not k.endswith(("_runtime", "_per_second"))},
                "strata": strata})
        if self.best_metric is None or value > self.best_metric:
            improved_from = self.best_metric
            self.best_metric, self.best_step, self.bad_evals = float(value), step, 0
            if state.is_world_process_zero and model is not None:
                tmp = self.run_dir / f".{BEST_DIR}.tmp"
                if tmp.exists():
                    shutil.rmtree(tmp)
                model.save_pretrained(str(tmp))
                replace_dir_atomic(tmp, self.run_dir / BEST_DIR)
            logger.info("step %d: dev %s = %.4f (%s) -> saved as best", step, self.metric, value,
                        "first evaluation" if improved_from is None else f"was {improved_from:.4f}")
        else:
            if step > 0:
                self.bad_evals += 1
            logger.info("step %d: dev %s = %.4f, best %.4f at step %d (%d evaluation(s) without improvement)",
                        step, self.metric, value, self.best_metric, self.best_step, self.bad_evals)
            if self.patience is not None and self.bad_evals >= self.patience:
                logger.info("early stopping: %d evaluations without improvement", self.bad_evals)
                self.stopped_early = True
                control.should_training_stop = True
        if state.is_world_process_zero:
            _plot_quietly(self.run_dir)

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            # Written last: its presence is what makes the checkpoint resumable.
            write_json_atomic(folder / STATE_FILE, {**self.state(), "global_step": state.global_step,
                                                     "epoch": state.epoch})

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            _plot_quietly(self.run_dir)


def _plot_quietly(run_dir: Path) -> None:
    from rerank_fix.finetune.plot import plot_training_curve

    try:
        plot_training_curve(run_dir)
    except (ImportError, OSError, ValueError) as exc:  # a missing plot must never kill a training run
        logger.warning("could not draw the training curve: %s", exc)


def _trainer_class():
    from sentence_transformers.cross_encoder import CrossEncoderTrainer

    from rerank_fix.finetune.sampling import EpochSeededBatchSampler

    class RerankTrainer(CrossEncoderTrainer):
        """CrossEncoderTrainer whose batch order is keyed by (seed, epoch), so a resumed epoch replays exactly."""

        group_sampler: "GroupSampler"
        head_learning_rate: float | None = None

        def create_optimizer(self, model=None):
            from rerank_fix.finetune.modeling import split_head_learning_rate

            fresh = self.optimizer is None
            optimizer = super().create_optimizer(model)
            if fresh and self.head_learning_rate is not None:
                split_head_learning_rate(optimizer, self.model if model is None else model, self.head_learning_rate)
            return optimizer

        def get_batch_sampler(self, dataset, batch_size, drop_last, valid_label_columns=None, generator=None,
                              seed=0):
            return EpochSeededBatchSampler(dataset, batch_size=batch_size, drop_last=drop_last,
                                           valid_label_columns=valid_label_columns, seed=seed,
                                           group_sampler=self.group_sampler)

        def evaluate(self, *args, **kwargs):
            # An evaluation must not move the training's random streams: the end-of-epoch evaluation runs after
            # that step's checkpoint saved them, so a run resumed from the checkpoint (which skips that
            # evaluation) would otherwise draw different dropout masks from then on.
            with preserved_rng_state():
                return super().evaluate(*args, **kwargs)

    return RerankTrainer


def _saved_config_differences(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += _saved_config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            diffs.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return diffs


# Changing these mid-run would make the resumed run a different run; eval settings and paths may change.
_RESUME_INVARIANT = ("seed", "model", "data", "augment", "loss", "train")


def check_run_folder(cfg: "FinetuneConfig", resume: bool) -> Path | None:
    """Refuse to overwrite a run; on resume, find the checkpoint and check the config is the same run."""
    import yaml

    from rerank_fix.outputs import check_output_path

    run_dir = cfg.run_dir
    check_output_path(run_dir, [cfg.resolve(cfg.data.triples) if cfg.data.triples not in (None, "-") else None,
                                cfg.resolve(cfg.eval.data) if cfg.eval.enabled and cfg.eval.data else None],
                      option="output_dir")
    ckpt_dir = run_dir / CHECKPOINT_DIR
    has_run = bool(checkpoints(ckpt_dir)) or (run_dir / LOSS_LOG).exists()
    if not resume:
        if has_run:
            raise UserInputError(f"{run_dir} already holds a training run; pass --resume to continue it, or set "
                                 "output_dir to a new folder (or delete this one)")
        return None
    checkpoint = latest_complete_checkpoint(ckpt_dir)
    if checkpoint is None:
        if has_run:
            logger.warning("%s has no complete checkpoint to resume from; starting from step 0", run_dir)
        return None
    saved_path = run_dir / CONFIG_COPY
    if saved_path.is_file():
        saved = yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}
        try:
            # Fields added since the run started take their defaults, which keep the old behaviour.
            saved = type(cfg).model_validate(saved).to_yaml_dict()
        except Exception:  # a config this version cannot read: compare it as written
            pass
        current = cfg.to_yaml_dict()
        diffs = [d for key in _RESUME_INVARIANT
                 for d in _saved_config_differences({key: saved.get(key)}, {key: current.get(key)})]
        if diffs:
            raise ConfigError(f"{run_dir} was started with a different config; resuming it with this one would "
                              "not continue the same run. Differences: " + "; ".join(diffs[:8]))
    return checkpoint


def _checkpointing_args(args_cls, enabled: bool) -> dict[str, Any]:
    """transformers 5 renamed gradient checkpointing to activation checkpointing; older versions lack the new name."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(args_cls)}
    prefix = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    if not enabled:
        return {}
    # Non-reentrant checkpointing works with frozen inputs and DDP; the reentrant default warns on both.
    return {prefix: True, f"{prefix}_kwargs": {"use_reentrant": False}}


def _training_args(cfg: "FinetuneConfig", ckpt_dir: Path, resuming: bool, show_progress: bool):
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments

    tc, ec = cfg.train, cfg.eval
    cuda = torch.cuda.is_available()
    bf16, fp16 = tc.bf16, tc.fp16
    if (bf16 or fp16) and not cuda:
        logger.warning("train.%s is set but no CUDA device is available; training in fp32 on CPU",
                       "bf16" if bf16 else "fp16")
        bf16 = fp16 = False
    evaluating = ec.enabled
    # Several processes without CUDA (torchrun / accelerate launch on CPUs): transformers sets up gloo DDP
    # only when told to use the CPU; otherwise each process would silently train alone.
    multi_cpu = not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1
    return CrossEncoderTrainingArguments(
        output_dir=str(ckpt_dir),
        use_cpu=multi_cpu,
        num_train_epochs=tc.epochs,
        max_steps=tc.max_steps,
        per_device_train_batch_size=tc.per_device_batch_size,
        gradient_accumulation_steps=tc.gradient_accumulation_steps,
        learning_rate=tc.learning_rate,
        warmup_steps=tc.warmup_ratio,
        weight_decay=tc.weight_decay,
        lr_scheduler_type=tc.lr_scheduler,
        max_grad_norm=tc.max_grad_norm,
        bf16=bf16,
        fp16=fp16,
        **_checkpointing_args(CrossEncoderTrainingArguments, tc.gradient_checkpointing),
        optim=tc.optim,
        save_strategy="steps",
        save_steps=tc.save_steps,
        save_total_limit=tc.save_total_limit,
        logging_strategy="steps",
        logging_steps=tc.logging_steps,
        eval_strategy=ec.strategy if evaluating else "no",
        eval_steps=ec.steps if evaluating and ec.strategy == "steps" else None,
        eval_on_start=evaluating and not resuming,
        seed=cfg.seed,
        report_to="none",
        disable_tqdm=not show_progress,
        remove_unused_columns=False,
        dataloader_pin_memory=cuda,
        prediction_loss_only=True,
        ddp_find_unused_parameters=False,
    )


def run_finetune(cfg: "FinetuneConfig", resume: bool = False, show_progress: bool = True) -> FinetuneResult:
    """Train a cross-encoder as configured; resume from the newest complete checkpoint with ``resume``.

    Writes to ``cfg.output_dir``: ``config.yaml``, ``checkpoints/``, ``loss_log.jsonl`` (one record per
    logged step), ``eval_log.jsonl`` (dev metrics, stratified), ``training_curve.png``, ``best/`` (the
    selected model) or ``final/`` (without evaluation), ``summary.json``.

    Example:
        >>> from rerank_fix.finetune.config import load_config
        >>> result = run_finetune(load_config("configs/finetune/cpu-minilm.yaml"))  # doctest: +SKIP
        >>> result.model_dir  # doctest: +SKIP
    """
    import yaml

    from rerank_fix.finetune.augment import typo_function
    from rerank_fix.finetune.config import config_warnings, size_warnings
    from rerank_fix.finetune.data import GroupSampler, build_train_dataset, prepare_triples, read_triples
    from rerank_fix.finetune.losses import build_loss
    from rerank_fix.finetune.modeling import count_parameters, load_model, warm_start

    started = time.time()
    for warning in config_warnings(cfg):
        logger.warning(warning)
    checkpoint = check_run_folder(cfg, resume)
    run_dir = cfg.run_dir
    ckpt_dir = run_dir / CHECKPOINT_DIR
    main = _is_main_process()
    if main:
        from rerank_fix.outputs import claim_output

        # Refuses a folder holding files no run wrote; a run's own files stay (--resume continues them).
        output_folder = claim_output(run_dir, "finetune", option="output_dir", keep_previous=True)

    triples_path = cfg.resolve(cfg.data.triples)
    triples = read_triples(triples_path, show_progress=show_progress and main)

    dev_setup = None
    evaluator = None
    if not main:
        # Every process runs this function; one voice is enough.
        logger.setLevel(logging.WARNING)
    if cfg.eval.enabled:
        from rerank_fix.finetune.evaluator import DevRerankEvaluator, build_stratifiers, prepare_dev

        # Stage one runs on the main process only: the others never call the evaluator (under DDP they
        # serve its scoring requests), but they need the same dev split to filter the triples alike.
        dev_setup = prepare_dev(cfg, show_progress=show_progress and main, retrieve=main)
    prepared = prepare_triples(
        triples, cfg.data.group_size, cfg.data.too_few_negatives,
        exclude_ids=dev_setup.exclude_ids if dev_setup else (),
        exclude_texts=dev_setup.exclude_texts if dev_setup else (),
        forbidden_ids=dev_setup.test_ids if dev_setup else (),
        forbidden_texts=dev_setup.test_texts if dev_setup else (),
        max_triples=cfg.data.max_triples, shuffle_subset=cfg.data.shuffle_subset, seed=cfg.seed,
        source=str(triples_path))
    typo_fn, typo_source = typo_function() if cfg.augment.typos else (None, None)
    sampler = GroupSampler(cfg.data.group_size, cfg.seed, typo_fn, cfg.augment.probability, cfg.augment.rate,
                           teacher_scores=cfg.loss.uses_teacher_scores)
    train_dataset = build_train_dataset(prepared.triples, sampler)

    model, origin = load_model(cfg.model, seed=cfg.seed)
    n_params, _ = count_parameters(model)
    for warning in size_warnings(cfg, n_params):
        logger.warning(warning)
    # On resume the checkpoint's weights replace whatever the head starts from.
    head_init = None if checkpoint is not None else warm_start(cfg.model, model, origin, prepared.triples,
                                                               cfg.data.group_size, cfg.seed)
    loss = build_loss(cfg.loss, model, cfg.data.group_size)
    if dev_setup is not None:
        # The selection metric goes first: the evaluator's primary metric.
        metrics = [cfg.eval.metric, *[m for m in cfg.eval.metrics if m != cfg.eval.metric]]
        evaluator = DevRerankEvaluator(dev_setup, metrics, depth=cfg.eval.depth, max_length=cfg.model.max_length,
                                       batch_size=cfg.eval.batch_size,
                                       stratifiers=build_stratifiers(dev_setup.dev, cfg.eval.stratify_by),
                                       show_progress=show_progress and main)

    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / CONFIG_COPY).write_text(yaml.safe_dump(cfg.to_yaml_dict(), sort_keys=False), encoding="utf-8")
        if checkpoint is not None:
            step = read_state(checkpoint)["global_step"]
            dropped = truncate_log(run_dir / LOSS_LOG, step) + truncate_log(run_dir / EVAL_LOG, step)
            logger.info("resuming from %s (step %d); %d log records after it will be re-run", checkpoint.name,
                        step, dropped)
        else:
            for name in (LOSS_LOG, EVAL_LOG):
                (run_dir / name).unlink(missing_ok=True)
        write_json_atomic(run_dir / "data_stats.json", {
            "triples": str(triples_path), **prepared.stats,
            "typo_augmentation": {"enabled": cfg.augment.typos, "function": typo_source,
                                  "probability": cfg.augment.probability, "rate": cfg.augment.rate},
            "dev": dev_setup.info if dev_setup else None})

    callback = RunCallback(run_dir, sampler, cfg.eval.metric if cfg.eval.enabled else None,
                           cfg.eval.early_stopping_patience, evaluator,
                           state=read_state(checkpoint) if checkpoint is not None else None)
    args = _training_args(cfg, ckpt_dir, resuming=checkpoint is not None, show_progress=show_progress)
    trainer = _trainer_class()(model=model, args=args, train_dataset=train_dataset, loss=loss, evaluator=evaluator,
                               callbacks=[callback])
    # Read when train() builds the dataloader.
    trainer.group_sampler = sampler
    trainer.head_learning_rate = cfg.train.head_learning_rate
    _replace_progress_callback(trainer, show_progress and main)
    train_started = time.time()
    with _quiet_saves():
        output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
    train_seconds = time.time() - train_started
    global_step = trainer.state.global_step

    if evaluator is not None and callback.last_eval_step != global_step and not callback.stopped_early:
        # The schedule can end between evaluations (max_steps mid-epoch): score the final weights too.
        trainer.evaluate()

    summary: dict[str, Any] = {}
    if main:
        if evaluator is not None and (run_dir / BEST_DIR).is_dir():
            model_dir = run_dir / BEST_DIR
        else:
            model_dir = run_dir / FINAL_DIR
            tmp = run_dir / f".{FINAL_DIR}.tmp"
            if tmp.exists():
                shutil.rmtree(tmp)
            trainer.model.save_pretrained(str(tmp))
            replace_dir_atomic(tmp, model_dir)
        summary = _summary(cfg, run_dir, model_dir, origin, n_params, prepared.stats, dev_setup, callback,
                           global_step, output.metrics, train_seconds, time.time() - started)
        summary["head_init"] = head_init
        write_json_atomic(run_dir / SUMMARY, summary)
        _plot_quietly(run_dir)
        output_folder.commit()
    else:
        model_dir = run_dir / (BEST_DIR if evaluator is not None else FINAL_DIR)
    return FinetuneResult(run_dir, model_dir, global_step, callback.best_step, callback.best_metric, summary)


def _replace_progress_callback(trainer: Any, show_progress: bool) -> None:
    """Keep the step progress bar, drop the per-step dict printing (the loss log and our messages say it)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class StepProgress(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            return None

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    if show_progress:
        trainer.add_callback(StepProgress())


@contextlib.contextmanager
def _quiet_saves():
    """No 'Writing model shards' bar at every checkpoint; restored afterwards for the caller's own use."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _summary(cfg, run_dir, model_dir, origin, n_params, data_stats, dev_setup, callback, global_step, metrics,
             train_seconds, total_seconds) -> dict[str, Any]:
    evals = read_log(run_dir / EVAL_LOG)
    before = next((e for e in evals if e["step"] == 0), None)
    best = next((e for e in evals if e["step"] == callback.best_step), None)
    losses = read_log(run_dir / LOSS_LOG)
    return {
        "name": cfg.name,
        "model_dir": str(model_dir),
        "base_model": cfg.model.name_or_path,
        "weights_origin": origin,
        "parameters": n_params,
        "global_step": global_step,
        "logged_steps": [r["step"] for r in losses][:1] + [r["step"] for r in losses][-1:],
        "final_loss": losses[-1]["loss"] if losses else None,
        "best_step": callback.best_step,
        "best_metric": callback.best_metric,
        "selection_metric": cfg.eval.metric if cfg.eval.enabled else None,
        "stopped_early": callback.stopped_early,
        "before": before,
        "after": best,
        "data": data_stats,
        "dev": dev_setup.info if dev_setup else None,
        "train_runtime_s": round(train_seconds, 2),
        "total_runtime_s": round(total_seconds, 2),
        "train_samples_per_second": metrics.get("train_samples_per_second"),
        "config": cfg.to_yaml_dict(),
        # Relative paths in the config are anchored here (the export re-reads the dev split with it).
        "config_base_dir": str(Path(cfg.base_dir).resolve()) if cfg.base_dir else str(Path.cwd()),
    }
