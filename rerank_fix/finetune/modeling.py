"""Building the cross-encoder to train: from weights, from random init, or on the meta device for sizing."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rerank_fix.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder
    from transformers import PretrainedConfig, PreTrainedModel

    from rerank_fix.finetune.config import ModelConfig

logger = logging.getLogger("rerank_fix.finetune")

# The bge-reranker-v2-m3 backbone (XLM-RoBERTa-large as extended by BGE-M3 to 8k positions).
XLMR_LARGE = dict(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096, max_position_embeddings=8194, type_vocab_size=1, num_labels=1)


def xlmr_large_config() -> "PretrainedConfig":
    from transformers import XLMRobertaConfig

    cfg = XLMRobertaConfig(**XLMR_LARGE)
    cfg.architectures = ["XLMRobertaForSequenceClassification"]
    return cfg


def _wants_xlmr(cfg: "ModelConfig") -> bool:
    name = cfg.name_or_path.lower()
    return cfg.architecture == "xlm-roberta-large" or "bge-reranker-v2-m3" in name or "xlm-roberta-large" in name


def hf_config(cfg: "ModelConfig") -> tuple["PretrainedConfig", str]:
    """The transformers config of the model and where it came from (weights folder/cache, or the fallback)."""
    from transformers import AutoConfig

    from rerank_fix.models import resolve_model

    resolved = resolve_model(cfg.name_or_path)
    try:
        config = AutoConfig.from_pretrained(resolved, num_labels=1, trust_remote_code=cfg.trust_remote_code)
        return config, resolved
    except (OSError, ValueError) as exc:
        if _wants_xlmr(cfg):
            logger.info("config of %s unavailable (%s); using the XLM-RoBERTa-large shape", cfg.name_or_path,
                        type(exc).__name__)
            return xlmr_large_config(), "XLM-RoBERTa-large shape (hub config unavailable offline)"
        raise ConfigError(f"cannot read the config of model {cfg.name_or_path!r} ({type(exc).__name__}); "
                          "check model.name_or_path, or set model.architecture: xlm-roberta-large to size "
                          "a bge-reranker-v2-m3-shaped model without it") from None


def meta_model(cfg: "ModelConfig") -> tuple["PreTrainedModel", str]:
    """The sequence-classification model built on the meta device: shapes only, no memory."""
    import torch
    from transformers import AutoModelForSequenceClassification

    config, source = hf_config(cfg)
    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config, trust_remote_code=cfg.trust_remote_code)
    return model, source


def _model_kwargs(cfg: "ModelConfig") -> dict[str, Any]:
    return {"attn_implementation": cfg.attn_implementation} if cfg.attn_implementation else {}


def load_model(cfg: "ModelConfig", seed: int | None = None) -> tuple["CrossEncoder", str]:
    """Load the cross-encoder to train, with one output logit.

    Returns the model and a short description of where the weights came from. ``seed`` fixes the
    initialisation of a fresh classification head.

    Example:
        >>> from rerank_fix.finetune.config import ModelConfig
        >>> model, origin = load_model(ModelConfig(name_or_path="bundled", max_length=64), seed=0)  # doctest: +SKIP
    """
    from sentence_transformers import CrossEncoder

    from rerank_fix.models import _load_error, resolve_model

    if seed is not None:
        from transformers import set_seed

        set_seed(seed)
    resolved = resolve_model(cfg.name_or_path)
    try:
        model = CrossEncoder(resolved, num_labels=1, max_length=cfg.max_length,
                             trust_remote_code=cfg.trust_remote_code, model_kwargs=_model_kwargs(cfg) or None)
    except (OSError, ValueError) as exc:
        if not cfg.random_init_if_unavailable:
            raise _load_error(cfg.name_or_path, exc) from None
        logger.warning("weights of %s unavailable (%s); building it with RANDOM weights "
                       "(model.random_init_if_unavailable is set) - fine for testing the code path, "
                       "useless as a reranker", cfg.name_or_path, type(exc).__name__)
        return random_init_model(cfg), "random init (weights unavailable)"
    return model, resolved


def random_init_model(cfg: "ModelConfig") -> "CrossEncoder":
    """The configured architecture with random weights, wrapped as a CrossEncoder.

    The tokenizer is the model's own when it can be loaded, else the bundled MiniLM's (its ids are
    clamped into the model's vocabulary, and token type ids are dropped for single-type models).
    """
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rerank_fix.models import default_bi_encoder_path

    config, _ = hf_config(cfg)
    # Start from the bundled model for the module layout and tokenizer, then swap the backbone.
    model = CrossEncoder(default_bi_encoder_path(), num_labels=1, max_length=cfg.max_length)
    transformer = model[0]
    hf_model = AutoModelForSequenceClassification.from_config(config, trust_remote_code=cfg.trust_remote_code)
    transformer.model = hf_model
    try:
        from rerank_fix.models import resolve_model

        tokenizer = AutoTokenizer.from_pretrained(resolve_model(cfg.name_or_path))
        transformer.processor = tokenizer
    except (OSError, ValueError):
        tokenizer = transformer.tokenizer
    tokenizer.model_max_length = cfg.max_length
    if getattr(config, "type_vocab_size", 2) < 2:
        tokenizer.model_input_names = [n for n in tokenizer.model_input_names if n != "token_type_ids"]
    vocab = config.vocab_size
    if len(tokenizer) > vocab:
        embeddings = hf_model.get_input_embeddings()
        embeddings.register_forward_pre_hook(lambda _m, args: (args[0].clamp(max=vocab - 1), *args[1:]))
    return model


def count_parameters(model: Any) -> tuple[int, int]:
    """(all, trainable) parameter counts; works on meta tensors."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


def warm_start(cfg: "ModelConfig", model: "CrossEncoder", origin: str, triples: Any, group_size: int,
               seed: int) -> dict[str, Any] | None:
    """Apply ``cfg.head_init`` to a freshly loaded model; returns the fit's statistics, or ``None`` if skipped.

    ``auto`` fits the head only when the checkpoint came without one (a bi-encoder grown into a
    cross-encoder); random-weight stand-ins are never probed (their features mean nothing).
    """
    from rerank_fix.finetune.head_init import has_fresh_head, warm_start_head

    mode = cfg.head_init
    if mode == "none" or origin.startswith("random init"):
        return None
    if mode == "auto":
        if not has_fresh_head(cfg.name_or_path):
            return None
        mode = "labels"
    info = warm_start_head(model, triples, target=mode, queries=cfg.head_init_queries,
                           negatives=group_size - 1, scale=cfg.head_init_scale, seed=seed)
    return info.as_dict()


def split_head_learning_rate(optimizer: Any, model: Any, head_learning_rate: float) -> int:
    """Move the classification head's parameters into their own group(s) at ``head_learning_rate``.

    Called on a fresh optimizer (no state yet), before the scheduler records each group's base rate, so
    warmup and decay apply to the head's rate too. Returns the number of parameters moved.
    """
    from rerank_fix.finetune.head_init import head_parameter_names

    names = head_parameter_names(model)
    head_ids = {id(p) for n, p in model.named_parameters() if n in names}
    moved = 0
    for group in list(optimizer.param_groups):
        head = [p for p in group["params"] if id(p) in head_ids]
        if not head:
            continue
        group["params"] = [p for p in group["params"] if id(p) not in head_ids]
        settings = {k: v for k, v in group.items() if k != "params"}
        optimizer.add_param_group({**settings, "params": head, "lr": head_learning_rate})
        moved += sum(p.numel() for p in head)
    optimizer.param_groups[:] = [g for g in optimizer.param_groups if g["params"]]
    return moved
