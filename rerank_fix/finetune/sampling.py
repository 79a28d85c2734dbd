"""Batch order keyed by (seed, epoch): a resumed epoch replays the batches of an uninterrupted one."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

if TYPE_CHECKING:
    from rerank_fix.finetune.data import GroupSampler


class EpochSeededBatchSampler(DefaultBatchSampler):
    """Shuffled batches whose order depends only on ``seed`` and the epoch.

    torch's ``RandomSampler`` draws each epoch's order from a generator that advances across epochs;
    a process resumed in epoch 2 starts that generator afresh and would replay epoch 1's order.
    Here the order of epoch ``e`` is ``randperm(n, seed + e)``, whatever ran before. The epoch is the
    group sampler's, which also keys the negatives drawn for each row, and is set by the trainer
    (``set_epoch``) and the run callback before each epoch.

    Args:
        dataset: The training set.
        batch_size: Rows (queries) per batch.
        drop_last: Drop a final short batch.
        valid_label_columns: Passed through (sentence-transformers API).
        seed: Base seed.
        group_sampler: Holds the current epoch.

    Example:
        >>> from rerank_fix.finetune.data import GroupSampler
        >>> s = EpochSeededBatchSampler(list(range(5)), 2, False, seed=0, group_sampler=GroupSampler(2, 0))
        >>> sorted(i for b in s for i in b)
        [0, 1, 2, 3, 4]
    """

    def __init__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None, generator=None,
                 seed: int = 0, group_sampler: "GroupSampler | None" = None) -> None:
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        self.size = len(dataset)
        self.group_sampler = group_sampler

    @property
    def current_epoch(self) -> int:
        return self.group_sampler.epoch if self.group_sampler is not None else self.epoch

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        if self.group_sampler is not None:
            self.group_sampler.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(int(self.seed) * 1_000_003 + self.current_epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        for start in range(0, self.size, self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return self.size // self.batch_size
        return (self.size + self.batch_size - 1) // self.batch_size
