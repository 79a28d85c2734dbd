"""The llama.cpp backend is an optional extra: clear message when missing, real run when a model is given."""
from __future__ import annotations

import importlib.util
import os

import pytest

from rerank_fix.errors import ConfigError, UserInputError
from rerank_fix.rewrite.config import RewriteConfig
from rerank_fix.rewrite.factory import build_backend

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None


@pytest.mark.skipif(HAS_LLAMA, reason="llama-cpp-python is installed; the missing-extra message cannot show")
def test_missing_extra_names_the_install_command(tmp_path):
    from rerank_fix.rewrite.llamacpp import LlamaCppClient, MissingExtraError

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(MissingExtraError) as info:
        LlamaCppClient(gguf)
    assert "pip install rerank-fix[llamacpp]" in str(info.value)
    assert isinstance(info.value, UserInputError)  # the CLI prints it without a traceback
    config = RewriteConfig.model_validate({"backend": "llamacpp", "llamacpp": {"gguf": str(gguf)}})
    with pytest.raises(MissingExtraError, match=r"rerank-fix\[llamacpp\]"):
        build_backend(config)


@pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python not installed (pip install rerank-fix[llamacpp])")
def test_missing_gguf_file_is_a_config_error(tmp_path):
    from rerank_fix.rewrite.llamacpp import LlamaCppClient

    with pytest.raises(ConfigError, match="not found"):
        LlamaCppClient(tmp_path / "absent.gguf")


@pytest.mark.skipif(not HAS_LLAMA or not os.environ.get("RERANK_FIX_TEST_GGUF"),
                    reason="set RERANK_FIX_TEST_GGUF to a small chat GGUF and install llama-cpp-python to run")
def test_real_gguf_rewrite(tmp_path):
    from rerank_fix.rewrite.llamacpp import LlamaCppClient
    from rerank_fix.rewrite.stage import QueryRewriter

    client = LlamaCppClient(os.environ["RERANK_FIX_TEST_GGUF"], n_ctx=1024, max_tokens=32,
                            cache_dir=str(tmp_path / "cache"))
    queries = {"a": "do golddish grow", "b": "what is wifj vs bluetooth"}
    out = QueryRewriter(client).rewrite(queries)
    assert list(out.results) == ["a", "b"]
    assert all(r.kind in {"rewritten", "unchanged", "rejected"} for r in out)
    again = QueryRewriter(client).rewrite(queries)
    assert all(r.cached for r in again)
    client.close()
