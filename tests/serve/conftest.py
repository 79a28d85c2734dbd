from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Path:
    """The bundled MiniLM as a cross-encoder (fresh head, fixed seed), exported with `rerank-fix export`."""
    from rerank_fix.cli import main
    from rerank_fix.models import load_cross_encoder

    root = tmp_path_factory.mktemp("serve-model")
    load_cross_encoder(None).save(str(root / "source"))
    assert main(["export", str(root / "source"), str(root / "exported")]) == 0
    return root / "exported"


@pytest.fixture(scope="session")
def local_model(exported):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(exported))


@pytest.fixture(scope="session")
def demo_pairs():
    """BM25's top 8 for 12 demo queries: realistic (query, candidate) lists."""
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.bm25 import BM25Retriever

    ds = load_eval_set("demo")
    retriever = BM25Retriever()
    retriever.index(ds.corpus)
    qids = list(ds.queries)[:12]
    run = retriever.search({q: ds.query_texts[q] for q in qids}, k=8)
    return [(ds.query_texts[q], ds.corpus[d].full_text) for q in qids for d, _ in run.results[q]]


@pytest.fixture(scope="session")
def served(exported):
    """`rerank-fix serve`'s app for the exported model, on a loopback port for the whole session."""
    import rerank_fix
    from rerank_fix.serve import Limits, create_app
    from rerank_fix.serve.background import BackgroundServer

    app = create_app(rerank_fix.load(exported), Limits(max_documents=64, max_chars=20_000, max_body_bytes=200_000))
    with BackgroundServer(app) as server:
        yield server
