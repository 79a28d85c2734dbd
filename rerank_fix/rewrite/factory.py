"""Build a rewriter stage from a :class:`~rerank_fix.rewrite.config.RewriteConfig`."""
from __future__ import annotations

from typing import Any, Callable, Collection, Mapping

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.cache import scoped_cache_dir
from rerank_fix.rewrite.config import RewriteConfig
from rerank_fix.rewrite.gates import AllGate, AnyGate, Gate, MaxTokensGate, OOVTypoGate
from rerank_fix.rewrite.stage import LLMRewriter, QueryRewriter, RewriteBackend
from rerank_fix.rewrite.vocab import Vocabulary


def spell_settings(config: RewriteConfig):
    """The spell section of ``config`` as :class:`~rerank_fix.rewrite.spell.SpellSettings`."""
    from rerank_fix.rewrite.spell import SpellSettings

    return SpellSettings(**config.spell.model_dump())


def build_backend(config: RewriteConfig, vocabulary: Vocabulary | None = None,
                  fn: Callable[[list[dict[str, str]]], str] | None = None) -> RewriteBackend:
    """The backend named by ``config.backend``.

    Args:
        config: The rewrite config.
        vocabulary: Corpus vocabulary; required by the ``spell`` backend.
        fn: For ``callable``: the function itself (otherwise ``config.callable.target`` is imported).
    """
    if config.backend == "spell":
        if vocabulary is None:
            raise ConfigError("the spell backend needs the corpus vocabulary; pass vocabulary= (or a corpus)")
        from rerank_fix.rewrite.spell import SpellRewriter

        return SpellRewriter(vocabulary, spell_settings(config))
    if config.backend == "openai":
        from rerank_fix.rewrite.openai_compat import OpenAIChatClient

        o = config.openai
        client = OpenAIChatClient(o.base_url, o.model or "", api_key_env=o.api_key_env, timeout=o.timeout,
                                  max_retries=o.max_retries, backoff_base=o.backoff_base,
                                  backoff_max=o.backoff_max, max_retry_wait=o.max_retry_wait,
                                  max_concurrency=o.max_concurrency, temperature=o.temperature,
                                  max_tokens=o.max_tokens, extra_body=o.extra_body,
                                  cache_dir=scoped_cache_dir(o.cache_dir, backend="openai", base_url=o.base_url,
                                                             model=o.model, prompt=config.prompt.model_dump(),
                                                             domain_hint=config.domain_hint))
        return LLMRewriter(client, config.prompt, config.domain_hint)
    if config.backend == "llamacpp":
        from rerank_fix.rewrite.llamacpp import LlamaCppClient

        c = config.llamacpp
        client = LlamaCppClient(c.gguf or "", n_ctx=c.n_ctx, n_threads=c.n_threads, n_gpu_layers=c.n_gpu_layers,
                                temperature=c.temperature, max_tokens=c.max_tokens, chat_format=c.chat_format,
                                seed=c.seed,
                                cache_dir=scoped_cache_dir(c.cache_dir, backend="llamacpp", gguf=c.gguf,
                                                           chat_format=c.chat_format, prompt=config.prompt.model_dump(),
                                                           domain_hint=config.domain_hint))
        return LLMRewriter(client, config.prompt, config.domain_hint)
    if config.backend == "callable":
        from rerank_fix.rewrite.clients import CallableClient, load_callable

        target = fn if fn is not None else load_callable(config.callable.target or "")
        name = f"callable:{config.callable.target}" if fn is None else None
        return LLMRewriter(CallableClient(target, name=name), config.prompt, config.domain_hint)
    raise ConfigError(f"unknown rewrite backend {config.backend!r}; choose spell, openai, llamacpp or callable")


def build_gate(config: RewriteConfig, vocabulary: Vocabulary | None = None) -> Gate | None:
    """The built-in gate described by ``config.gate`` (None: rewrite every query)."""
    g = config.gate
    gates: list[Gate] = []
    if g.max_tokens is not None:
        gates.append(MaxTokensGate(g.max_tokens))
    if g.oov_typo:
        if vocabulary is None:
            raise ConfigError("gate.oov_typo needs the corpus vocabulary; pass vocabulary= (or a corpus)")
        known: frozenset[str] = frozenset(config.spell.protected_words)
        if config.spell.english_known_words:
            from rerank_fix.core.text import english_words

            known |= english_words(config.spell.english_min_count)
        gates.append(OOVTypoGate(vocabulary, min_oov=g.min_oov, min_word_len=config.spell.min_word_len,
                                 known_words=known))
    if not gates:
        return None
    if len(gates) == 1:
        return gates[0]
    return AnyGate(gates) if g.combine == "any" else AllGate(gates)


def build_rewriter(config: RewriteConfig | None = None, corpus: Mapping[str, Any] | None = None,
                   vocabulary: Vocabulary | None = None, should_rewrite: Callable[[Any], bool] | None = None,
                   selected_ids: Collection[str] | None = None, fn: Callable | None = None,
                   show_progress: bool = False) -> QueryRewriter:
    """A ready :class:`~rerank_fix.rewrite.stage.QueryRewriter` for ``config``.

    The corpus vocabulary is built once (from ``corpus``) when the spell backend or the OOV gate needs it.
    A ``should_rewrite`` callable is combined (AND) with the config's built-in gates.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> ds = load_eval_set("demo")                                         # doctest: +SKIP
        >>> out = build_rewriter(corpus=ds.corpus).rewrite(ds.queries)         # doctest: +SKIP
    """
    config = config or RewriteConfig()
    needs_vocab = config.backend == "spell" or config.gate.oov_typo
    if needs_vocab and vocabulary is None:
        if corpus is None:
            raise ConfigError(f"backend {config.backend!r} / gate.oov_typo need the corpus (for its vocabulary)")
        vocabulary = Vocabulary.from_corpus(corpus, show_progress=show_progress)
    backend = build_backend(config, vocabulary, fn)
    gate = build_gate(config, vocabulary)
    if gate is not None and should_rewrite is not None:
        combined: Gate | None = AllGate([gate, should_rewrite])
    else:
        combined = gate or should_rewrite
    return QueryRewriter(backend, config, should_rewrite=combined, selected_ids=selected_ids,
                         show_progress=show_progress)
