"""The rewriter stage: gate, rewrite, sanitise, validate, and fall back to the original on any failure."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from rerank_fix.core.types import Query
from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.clients import ChatClient
from rerank_fix.rewrite.config import DEFAULT_DOMAIN_HINT, PromptConfig, RewriteConfig, ValidationConfig
from rerank_fix.rewrite.sanitize import rejection_reason, same_query, sanitize, strip_control
from rerank_fix.rewrite.types import (
    FALLBACK,
    REJECTED,
    REWRITTEN,
    SKIPPED,
    UNCHANGED,
    BackendOutput,
    RewriteResult,
    RewriteSummary,
)

logger = logging.getLogger("rerank_fix.rewrite")


@runtime_checkable
class RewriteBackend(Protocol):
    """Anything that turns query texts into candidate rewrites, one :class:`BackendOutput` per query.

    An optional ``sanitize_output`` attribute (True when absent) says whether answers need cleaning like a chat
    model's (quotes, labels, chatter); backends that return the query itself set it to False.
    """

    name: str

    def rewrite_batch(self, queries: Sequence[str],
                      progress: Callable[[], None] | None = None) -> list[BackendOutput]: ...


class LLMRewriter:
    """Adapter from a chat client to the backend interface: fills the prompt template for each query.

    Args:
        client: Any :class:`~rerank_fix.rewrite.clients.ChatClient`.
        prompt: Prompt template.
        domain_hint: Fills ``{domain_hint}`` in the template.

    Example:
        >>> from rerank_fix.rewrite.clients import CallableClient
        >>> backend = LLMRewriter(CallableClient(lambda m: "do goldfish grow"))
        >>> backend.rewrite_batch(["do golddish grow"])[0].text
        'do goldfish grow'
    """

    def __init__(self, client: ChatClient, prompt: PromptConfig | None = None,
                 domain_hint: str | None = None) -> None:
        self.client = client
        self.prompt = prompt or PromptConfig()
        self.domain_hint = domain_hint if domain_hint is not None else DEFAULT_DOMAIN_HINT
        self.name = client.name
        self.sanitize_output = True

    def rewrite_batch(self, queries: Sequence[str],
                      progress: Callable[[], None] | None = None) -> list[BackendOutput]:
        batch = [self.prompt.messages(q, self.domain_hint) for q in queries]
        return self.client.complete_many(batch, progress=progress)

    def __repr__(self) -> str:
        return f"LLMRewriter({self.client!r})"


@dataclass
class RewriteOutput:
    """Every query's outcome, in input order, plus the summary; what the pipeline consumes.

    In ``replace`` mode retrieve with :meth:`texts`; in ``fuse`` mode retrieve with both
    :meth:`original_texts` and :meth:`rewritten_texts` and fuse the two runs with RRF
    (:meth:`retrieval_queries` returns the list for either mode).

    Args:
        results: ``query_id -> RewriteResult``.
        summary: Counts per status and added latency.
        mode: ``replace`` or ``fuse``.
        source_queries: The input queries, kept so metadata survives into :meth:`queries`.
    """

    results: dict[str, RewriteResult]
    summary: RewriteSummary
    mode: str = "replace"
    source_queries: Mapping[str, Query] | None = None

    def __iter__(self) -> Iterator[RewriteResult]:
        return iter(self.results.values())

    def __len__(self) -> int:
        return len(self.results)

    def texts(self) -> dict[str, str]:
        """``query_id -> text to retrieve with`` (the rewrite when accepted, else the original)."""
        return {qid: r.rewritten for qid, r in self.results.items()}

    def original_texts(self) -> dict[str, str]:
        return {qid: r.original for qid, r in self.results.items()}

    def rewritten_texts(self) -> dict[str, str]:
        return self.texts()

    def pairs(self) -> dict[str, tuple[str, str]]:
        """``query_id -> (original, rewritten)``; identical texts where nothing was rewritten."""
        return {qid: (r.original, r.rewritten) for qid, r in self.results.items()}

    def retrieval_queries(self) -> list[dict[str, str]]:
        """The query sets to retrieve with: one in ``replace`` mode, ``[original, rewritten]`` in ``fuse``."""
        if self.mode == "fuse":
            return [self.original_texts(), self.rewritten_texts()]
        return [self.texts()]

    def queries(self) -> dict[str, Query]:
        """New :class:`Query` objects with the rewritten text; metadata gains ``original_text`` and
        ``rewrite_status``. The input queries are not modified."""
        out: dict[str, Query] = {}
        for qid, r in self.results.items():
            source = self.source_queries.get(qid) if self.source_queries is not None else None
            metadata = dict(source.metadata) if source is not None else {}
            metadata["original_text"] = r.original
            metadata["rewrite_status"] = r.status
            out[qid] = Query(qid, r.rewritten, metadata)
        return out

    def to_jsonl_rows(self) -> list[dict[str, Any]]:
        """BEIR-style query rows: ``{"_id", "text", "metadata"}``, readable by ``load_eval_set``."""
        return [{"_id": q.query_id, "text": q.text, "metadata": dict(q.metadata)} for q in self.queries().values()]


def _as_queries(queries: Mapping[str, Any] | Sequence[Any]) -> dict[str, Query]:
    if isinstance(queries, Mapping):
        out = {}
        for qid, value in queries.items():
            if isinstance(value, Query):
                out[str(qid)] = value
            elif isinstance(value, str):
                out[str(qid)] = Query(str(qid), value, {})
            else:
                raise ConfigError(f"query {qid!r}: expected a Query or a string, got {type(value).__name__}")
        return out
    out = {}
    for q in queries:
        if not isinstance(q, Query):
            raise ConfigError(f"expected Query objects in a list of queries, got {type(q).__name__}; "
                              "pass a mapping query_id -> text instead")
        out[q.query_id] = q
    return out


class QueryRewriter:
    """The rewrite stage: rewrite the gated queries, keep the original wherever a rewrite fails or is unfit.

    For each query the outcome is one of: ``skipped`` (gate said no), ``rewritten``, ``unchanged`` (the backend
    returned the same query), ``rejected:<empty|too_long|no_overlap>`` (the sanitised answer cannot be a
    rewrite) or ``fallback:<reason>`` (timeout, connection_error, http_500, malformed_response,
    empty_response, ...). No query is ever dropped.

    Args:
        backend: A :class:`RewriteBackend` (e.g. :class:`~rerank_fix.rewrite.spell.SpellRewriter`) or a
            :class:`~rerank_fix.rewrite.clients.ChatClient`, which is wrapped with the prompt template.
        config: Mode, prompt, domain hint and validation settings (``config.backend`` is not consulted here;
            see :func:`~rerank_fix.rewrite.factory.build_rewriter` to build from a config).
        should_rewrite: Gate ``fn(Query) -> bool``, e.g. a stratifier from ``rerank_fix.evaluate.strata``.
        selected_ids: Only these query ids are rewritten (combined with ``should_rewrite`` by AND).
        show_progress: Show a tqdm bar while the backend works.

    Example:
        >>> from rerank_fix.rewrite.spell import SpellRewriter
        >>> from rerank_fix.rewrite.vocab import Vocabulary
        >>> vocab = Vocabulary.from_texts(["Goldfish grow to the size of their tank."] * 3)
        >>> out = QueryRewriter(SpellRewriter(vocab)).rewrite({"q1": "do golddish grow", "q2": "goldfish tank"})
        >>> [(r.rewritten, r.status) for r in out]
        [('do goldfish grow', 'rewritten'), ('goldfish tank', 'unchanged')]
    """

    def __init__(self, backend: RewriteBackend | ChatClient, config: RewriteConfig | None = None,
                 should_rewrite: Callable[[Query], bool] | None = None,
                 selected_ids: Collection[str] | None = None, show_progress: bool = False) -> None:
        self.config = config or RewriteConfig()
        if isinstance(backend, ChatClient):
            backend = LLMRewriter(backend, self.config.prompt, self.config.domain_hint)
        if not hasattr(backend, "rewrite_batch"):
            raise ConfigError(f"backend {backend!r} has no rewrite_batch(); pass a SpellRewriter, a ChatClient "
                              "or another RewriteBackend")
        self.backend = backend
        self.should_rewrite = should_rewrite
        self.selected_ids = frozenset(selected_ids) if selected_ids is not None else None
        self.show_progress = show_progress

    @property
    def validation(self) -> ValidationConfig:
        return self.config.validation

    def _selected(self, query: Query) -> bool:
        if self.selected_ids is not None and query.query_id not in self.selected_ids:
            return False
        return self.should_rewrite is None or bool(self.should_rewrite(query))

    def judge(self, query_id: str, original: str, output: BackendOutput) -> RewriteResult:
        """Turn one backend output into a result: sanitise, validate, or fall back."""
        if not output.ok:
            return RewriteResult(query_id, original, original, f"{FALLBACK}:{output.error or 'no_output'}",
                                 output.latency_ms, None, output.cached)
        raw = output.text or ""
        # Chat models wrap answers in quotes, labels and chatter; non-chat backends (spell) return the query
        # itself, whose quotes or "query:" words must survive.
        candidate = sanitize(raw) if getattr(self.backend, "sanitize_output", True) else strip_control(raw).strip()
        if candidate == original:
            return RewriteResult(query_id, original, original, UNCHANGED, output.latency_ms, candidate, output.cached)
        v = self.validation
        reason = rejection_reason(original, candidate, v.max_length_ratio, v.max_extra_chars, v.require_overlap)
        if reason is not None:
            return RewriteResult(query_id, original, original, f"{REJECTED}:{reason}", output.latency_ms,
                                 candidate, output.cached)
        if same_query(original, candidate):
            # Case or punctuation changes alone are not worth a different query text.
            return RewriteResult(query_id, original, original, UNCHANGED, output.latency_ms, candidate, output.cached)
        return RewriteResult(query_id, original, candidate, REWRITTEN, output.latency_ms, candidate, output.cached)

    def rewrite(self, queries: Mapping[str, Any] | Sequence[Query]) -> RewriteOutput:
        """Rewrite ``queries`` (``query_id -> Query or text``, or a list of Query); inputs are not modified."""
        source = _as_queries(queries)
        chosen = [qid for qid, q in source.items() if self._selected(q)]
        outputs: list[BackendOutput] = []
        if chosen:
            texts = [source[qid].text for qid in chosen]
            bar = None
            if self.show_progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(chosen), desc=f"rewrite ({self.backend.name})", unit="query")
            start = time.perf_counter()
            try:
                outputs = self.backend.rewrite_batch(texts, progress=bar.update if bar is not None else None)
            except Exception as exc:  # noqa: BLE001 - a broken backend must not lose the queries
                logger.warning("backend %s failed on the whole batch (%s: %s); keeping every original query",
                               self.backend.name, type(exc).__name__, exc, exc_info=True)
                elapsed = (time.perf_counter() - start) * 1000 / len(chosen)
                outputs = [BackendOutput(None, "backend_error", elapsed) for _ in chosen]
            finally:
                if bar is not None:
                    bar.close()
            if len(outputs) != len(chosen):
                raise RuntimeError(f"backend {self.backend.name!r} returned {len(outputs)} outputs for "
                                   f"{len(chosen)} queries")
            logger.info("rewrote %d queries with %s in %.2fs", len(chosen), self.backend.name,
                        time.perf_counter() - start)
        by_id = dict(zip(chosen, outputs))
        results: dict[str, RewriteResult] = {}
        for qid, q in source.items():
            if qid in by_id:
                results[qid] = self.judge(qid, q.text, by_id[qid])
            else:
                results[qid] = RewriteResult(qid, q.text, q.text, SKIPPED, 0.0)
        summary = RewriteSummary.from_results(list(results.values()), backend=self.backend.name,
                                              mode=self.config.mode)
        return RewriteOutput(results, summary, self.config.mode, source)

    def __repr__(self) -> str:
        return f"QueryRewriter({self.backend!r}, mode={self.config.mode!r})"
