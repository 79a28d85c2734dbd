"""``--dry-run``: parameters, estimated memory and tokens per step, without loading weights or training."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rerank_fix.finetune.memory import estimate_training_memory, gib

if TYPE_CHECKING:
    from rerank_fix.finetune.config import FinetuneConfig

logger = logging.getLogger("rerank_fix.finetune")


def _measured_pair_tokens(cfg: "FinetuneConfig", sample: int = 200) -> dict[str, Any] | None:
    """Mean tokens of (query, document) pairs from the triples, with the model's tokenizer when it loads."""
    from rerank_fix.finetune.data import read_triples

    path = cfg.resolve(cfg.data.triples)
    if path is None or not path.exists():
        return None
    try:
        from transformers import AutoTokenizer

        from rerank_fix.models import resolve_model

        tokenizer = AutoTokenizer.from_pretrained(resolve_model(cfg.model.name_or_path))
        source = "model tokenizer"
    except (OSError, ValueError):
        from transformers import AutoTokenizer

        from rerank_fix.models import default_bi_encoder_path

        tokenizer = AutoTokenizer.from_pretrained(default_bi_encoder_path())
        source = "bundled MiniLM tokenizer (model's unavailable offline)"
    triples = read_triples(path, show_progress=False)[:sample]
    pairs = [(t.query, d) for t in triples for d in (t.pos[0], *t.neg[:3])]
    enc = tokenizer([q for q, _ in pairs], [d for _, d in pairs], truncation=True,
                    max_length=cfg.model.max_length)
    lengths = [len(ids) for ids in enc["input_ids"]]
    return {"mean": sum(lengths) / len(lengths), "max": max(lengths), "pairs": len(lengths),
            "tokenizer": source, "truncated_share": sum(n >= cfg.model.max_length for n in lengths) / len(lengths)}


def dry_run(cfg: "FinetuneConfig", world_size: int | None = None) -> dict[str, Any]:
    """Everything a run would use, computed without weights (meta device) and without training.

    Returns a dict (also what the CLI prints): parameters, memory per device with and without gradient
    checkpointing, tokens per optimizer step, and the config warnings.

    Example:
        >>> from rerank_fix.finetune.config import load_config
        >>> report = dry_run(load_config("configs/finetune/bge-reranker-v2-m3.yaml"))  # doctest: +SKIP
        >>> report["parameters"]  # doctest: +SKIP
        567755777
    """
    import torch

    from rerank_fix.finetune.config import config_warnings, size_warnings
    from rerank_fix.finetune.modeling import count_parameters, meta_model

    model, source = meta_model(cfg.model)
    n_params, trainable = count_parameters(model)
    config = model.config
    if world_size is None:
        world_size = max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1
    tc = cfg.train
    seqs = tc.per_device_batch_size * cfg.data.group_size
    mixed = tc.bf16 or tc.fp16
    attn = cfg.model.attn_implementation or "sdpa"
    est = estimate_training_memory(
        n_params, config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
        config.intermediate_size, seqs, cfg.model.max_length, mixed, tc.gradient_checkpointing, tc.optim,
        fused_attention=attn != "eager")
    tokens_per_micro = seqs * cfg.model.max_length
    tokens_per_step = tokens_per_micro * tc.gradient_accumulation_steps * world_size
    measured = _measured_pair_tokens(cfg)
    warnings = config_warnings(cfg) + size_warnings(cfg, n_params)
    return {
        "config": cfg.name,
        "model": cfg.model.name_or_path,
        "architecture_source": source,
        "architecture": type(model).__name__,
        "parameters": n_params,
        "trainable_parameters": trainable,
        "shape": {"layers": config.num_hidden_layers, "hidden": config.hidden_size,
                  "heads": config.num_attention_heads, "intermediate": config.intermediate_size,
                  "vocab": config.vocab_size},
        "precision": "bf16" if tc.bf16 else "fp16" if tc.fp16 else "fp32",
        "attention": attn,
        "gradient_checkpointing": tc.gradient_checkpointing,
        "sequences_per_micro_batch": seqs,
        "max_length": cfg.model.max_length,
        "world_size": world_size,
        "memory_bytes": {
            "weights": est.weights, "gradients": est.gradients, "optimizer": est.optimizer,
            "activations": est.activations, "overhead": est.overhead, "total": est.total,
            "total_with_checkpointing": est.total_with(True),
            "total_without_checkpointing": est.total_with(False),
        },
        "tokens_per_micro_batch": tokens_per_micro,
        "tokens_per_step": tokens_per_step,
        "queries_per_step": tc.per_device_batch_size * tc.gradient_accumulation_steps * world_size,
        "measured_pair_tokens": measured,
        "warnings": warnings,
    }


def format_dry_run(report: dict[str, Any]) -> str:
    """Human-readable dry-run report."""
    mem = report["memory_bytes"]
    shape = report["shape"]
    lines = [
        f"dry run of {report['config']!r}: nothing is trained",
        f"  model              {report['model']} ({report['architecture']}, {report['architecture_source']})",
        f"  parameters         {report['parameters']:,} ({report['parameters'] / 1e6:.0f}M; "
        f"{shape['layers']} layers, hidden {shape['hidden']}, {shape['heads']} heads, vocab {shape['vocab']:,})",
        f"  precision          {report['precision']}, attention {report['attention']}, gradient checkpointing "
        f"{'on' if report['gradient_checkpointing'] else 'off'}",
        f"  micro-batch        {report['sequences_per_micro_batch']} sequences x {report['max_length']} tokens",
        "  memory per device (estimate)",
        f"    weights (fp32)       {gib(mem['weights'])}",
        f"    gradients (fp32)     {gib(mem['gradients'])}",
        f"    optimizer states     {gib(mem['optimizer'])}",
        f"    activations          {gib(mem['activations'])}",
        f"    framework overhead   {gib(mem['overhead'])}",
        f"    total                {gib(mem['total'])}  (with checkpointing {gib(mem['total_with_checkpointing'])}, "
        f"without {gib(mem['total_without_checkpointing'])})",
        f"  tokens per step    {report['tokens_per_step']:,} padded ({report['queries_per_step']} queries x "
        f"group x max_length, {report['world_size']} device(s))",
    ]
    measured = report.get("measured_pair_tokens")
    if measured:
        lines.append(f"  measured pairs     mean {measured['mean']:.0f} tokens, max {measured['max']}, "
                     f"{measured['truncated_share']:.0%} truncated ({measured['pairs']} pairs, {measured['tokenizer']})")
    for warning in report["warnings"]:
        lines.append(f"  WARNING: {warning}")
    return "\n".join(lines)
