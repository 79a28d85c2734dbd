"""A sentence-transformers CrossEncoder as a reranking stage."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from rerank_fix.rerank.base import SCORERS, Reranker

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


@SCORERS.register("torch")
class CrossEncoderReranker(Reranker):
    """Rerank with any CrossEncoder: a hub id (``BAAI/bge-reranker-v2-m3``), a local folder, or a loaded model.

    Args:
        model: Model id, path or ``CrossEncoder``; ``None`` gives the bundled MiniLM with an *untrained*
            head, useful only as the starting point of fine-tuning.
        max_length: Token limit for query + document; longer pairs are truncated.
        batch_size: Pairs per forward pass.
        trust_remote_code: Run model code from the hub; off unless you trust the repository.
        show_progress: Progress bar while scoring.

    Example:
        >>> reranker = CrossEncoderReranker("BAAI/bge-reranker-v2-m3", max_length=512)  # doctest: +SKIP
        >>> reranked = reranker.rerank(run, dataset.query_texts, dataset.corpus, depth=50)  # doctest: +SKIP

    References:
        Nogueira & Cho (2019), Passage Re-ranking with BERT.
    """

    def __init__(self, model: "str | CrossEncoder | None" = None, max_length: int | None = 512,
                 batch_size: int = 32, device: str | None = None, trust_remote_code: bool = False,
                 show_progress: bool = True, name: str = "rerank", num_labels: int | None = 1) -> None:
        self._spec = model if isinstance(model, str) or model is None else None
        self._model = None if self._spec is not None or model is None else model
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.trust_remote_code = trust_remote_code
        self.show_progress = show_progress
        self.name = name
        self.num_labels = num_labels

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> "CrossEncoder":
        if self._model is None:
            from rerank_fix.models import load_cross_encoder

            self._model = load_cross_encoder(self._spec, num_labels=self.num_labels, max_length=self.max_length,
                                             device=self.device, trust_remote_code=self.trust_remote_code)
        return self._model

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        # CrossEncoder.predict sorts by length inside one call, so handing it every query's pairs at
        # once lets padding shrink across queries, not just within one query's candidates.
        scores = self.model.predict([list(p) for p in pairs], batch_size=self.batch_size,
                                    show_progress_bar=self.show_progress and len(pairs) > self.batch_size,
                                    convert_to_numpy=True)
        return np.asarray(scores, dtype=np.float32).reshape(len(pairs), -1)[:, 0]

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Raw head outputs, no activation: ``(n,)`` for a one-label head, ``(n, labels)`` otherwise.

        What a teacher's margins, an export's parity check and a TEI ``raw_scores`` request compare.
        """
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        import torch

        out = np.asarray(self.model.predict([list(p) for p in pairs], batch_size=self.batch_size,
                                            show_progress_bar=self.show_progress and len(pairs) > self.batch_size,
                                            activation_fn=torch.nn.Identity(), convert_to_numpy=True),
                         dtype=np.float32)
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
