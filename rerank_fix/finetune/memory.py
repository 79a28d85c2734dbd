"""Training memory estimate for the dry run: weights, gradients, optimizer states and activations.

Activations follow Korthikanti et al. (2022), "Reducing Activation Recomputation in Large Transformer
Models": per encoder layer a micro-batch of ``b`` sequences of ``s`` tokens with hidden size ``h`` and
``a`` heads keeps about ``s*b*h*(16*e + 2)`` bytes outside attention (``e`` bytes per element, the 2
being dropout masks) plus ``a*s*s*b*(2*e + 1)`` bytes for the attention matrix; with 16-bit
activations that is their ``34sbh + 5as^2b``. Fused attention kernels (SDPA flash / memory-efficient)
never store the ``s x s`` matrix, so it is counted only for eager attention. Gradient checkpointing
keeps one ``s*b*h`` input per layer and recomputes one layer at a time in the backward pass.
"""
from __future__ import annotations

from dataclasses import dataclass

GIB = 1024 ** 3


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per device for one training micro-batch.

    Args:
        weights / gradients / optimizer: Parameter-sized buffers.
        activations: Activations kept for the backward pass (with the configured checkpointing).
        activations_no_ckpt / activations_ckpt: Both settings, for comparison.
        overhead: Framework + allocator slack (CUDA context, fragmentation); a flat allowance.

    Example:
        >>> est = estimate_training_memory(22_700_000, 384, 6, 12, 1536, 32, 256, False, False)
        >>> est.total_with(True) < est.total_with(False)
        True
    """

    weights: int
    gradients: int
    optimizer: int
    activations: int
    activations_no_ckpt: int
    activations_ckpt: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.overhead

    def total_with(self, checkpointing: bool) -> int:
        act = self.activations_ckpt if checkpointing else self.activations_no_ckpt
        return self.weights + self.gradients + self.optimizer + act + self.overhead


def optimizer_state_bytes_per_param(optim: str) -> int:
    """fp32 state bytes per parameter kept by the optimizer."""
    name = optim.lower()
    if "8bit" in name:
        return 2
    if "adafactor" in name:
        return 0  # factored second moments: negligible next to the weights
    if name.startswith("sgd"):
        return 0
    return 8  # Adam/AdamW: first and second moment in fp32


def estimate_training_memory(n_params: int, hidden: int, layers: int, heads: int, intermediate: int,
                             seqs_per_microbatch: int, seq_len: int, mixed_precision: bool,
                             gradient_checkpointing: bool, optim: str = "adamw_torch",
                             fused_attention: bool = True, overhead_gib: float = 1.0) -> MemoryEstimate:
    """Estimate per-device training memory of a BERT-style encoder.

    Mixed precision in the transformers Trainer is autocast: weights, gradients and optimizer states
    stay fp32, only activations shrink to 2 bytes. So the parameter-sized part is about 16 bytes per
    parameter with Adam either way.

    Args:
        n_params: Parameter count.
        hidden / layers / heads / intermediate: Encoder shape.
        seqs_per_microbatch: Sequences in one forward pass (queries per device x group size).
        seq_len: Padded sequence length (max_length is the worst case).
        mixed_precision: bf16/fp16 autocast activations (2 bytes) instead of fp32 (4 bytes).
        gradient_checkpointing: Keep only layer inputs and recompute.
        optim: transformers optimizer name (sizes the optimizer states).
        fused_attention: SDPA/flash attention (no stored s x s matrix).
        overhead_gib: Flat allowance for the CUDA context and allocator fragmentation.

    Example:
        >>> est = estimate_training_memory(568_000_000, 1024, 24, 16, 4096, 64, 512, True, True)
        >>> round((est.weights + est.gradients + est.optimizer) / 1024**3, 1)  # 16 bytes/param with Adam
        8.5
    """
    e = 2 if mixed_precision else 4
    s, b, h, a = seq_len, seqs_per_microbatch, hidden, heads
    ffn_ratio = intermediate / hidden
    # 16 elements of s*b*h per layer at the standard 4x FFN; the FFN part scales with its width.
    elements = 8 + 2 * ffn_ratio
    per_layer = s * b * h * (elements * e + 2)
    attention = 0 if fused_attention else a * s * s * b * (2 * e + 1)
    per_layer += attention
    # Embedding output, its LayerNorm/dropout, the pooler/classifier: a few s*b*h tensors.
    outside = 4 * s * b * h * e
    no_ckpt = layers * per_layer + outside
    ckpt = layers * s * b * h * e + per_layer + outside
    return MemoryEstimate(
        weights=4 * n_params,
        gradients=4 * n_params,
        optimizer=optimizer_state_bytes_per_param(optim) * n_params,
        activations=ckpt if gradient_checkpointing else no_ckpt,
        activations_no_ckpt=no_ckpt,
        activations_ckpt=ckpt,
        overhead=int(overhead_gib * GIB),
    )


def gib(n: int | float) -> str:
    return f"{n / GIB:.2f} GiB"
