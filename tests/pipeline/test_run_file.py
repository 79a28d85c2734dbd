"""The ``run: {path: FILE}`` stage: a TREC run from outside behaves exactly like the built-in stage it came from."""
from __future__ import annotations

import json
import math

import pytest
import torch

from rerank_fix.cli import main
from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.pipeline.recipe import parse_recipe
from rerank_fix.pipeline.runner import run_recipe
from rerank_fix.report.wording import notes

RERANK = {"rerank": {"model": "bundled", "depth": 5, "max_length": 64}}


def _recipe(pipelines, **extra):
    torch.manual_seed(0)  # the bundled cross-encoder's head is fresh: the same seed gives the same head
    return parse_recipe({"data": {"source": "demo", "split": "test", "max_queries": 60}, "latency": {"sample": 0},
                         "metrics": ["recall@5", "recall@10", "ndcg@10", "mrr@10"], "pipelines": pipelines, **extra})


@pytest.fixture(scope="module")
def demo_bm25(tmp_path_factory):
    """The project's own BM25 run (and BM25 reranked) on the demo test split, and the BM25 run as a TREC file."""
    result = run_recipe(_recipe([{"name": "bm25", "stages": ["bm25"]},
                                 {"name": "bm25+rerank", "stages": ["bm25", RERANK]}]),
                        show_progress=False, score_cache=False)
    path = result.result("bm25").run.to_trec(tmp_path_factory.mktemp("runs") / "bm25.trec")
    return result, path


def _differing(a: dict, b: dict) -> int:
    return sum(a[m][q] != b[m][q] for m in a for q in a[m]) + (set(a) != set(b))


def test_a_bm25_run_read_back_gives_identical_metrics_and_reranking(demo_bm25):
    built_in, path = demo_bm25
    result = run_recipe(_recipe([{"name": "file", "stages": [{"run": {"path": str(path)}}]},
                                 {"name": "file+rerank", "stages": [{"run": {"path": str(path)}}, RERANK]}]),
                        show_progress=False, score_cache=False)
    assert set(result.eval_set.qrels) == set(built_in.eval_set.qrels)
    assert result.result("file").run.results == built_in.result("bm25").run.results
    assert _differing(result.result("file").evaluation.per_query, built_in.result("bm25").evaluation.per_query) == 0
    assert result.result("file+rerank").run.results == built_in.result("bm25+rerank").run.results
    assert result.result("file").stages[0].info["coverage"]["missing"] == 0
    assert not any("covers" in n and "score 0" in n for n in notes(result))


def test_a_run_file_can_be_fused_and_routed_like_a_retriever(demo_bm25):
    _, path = demo_bm25
    run = {"run": {"path": str(path)}}
    result = run_recipe(_recipe([{"name": "bm25", "stages": ["bm25"]},
                                 {"name": "rrf", "stages": [{"rrf": {"retrievers": ["bm25", run]}}]},
                                 {"name": "file+rerank", "stages": [run, RERANK]},
                                 {"name": "routed", "route": {"between": ["bm25", "file+rerank"]}}]),
                        show_progress=False, score_cache=False)
    assert result.result("rrf").stages[0].label == "rrf(bm25,run)"
    assert result.result("rrf").evaluation.overall.metrics["ndcg@10"].mean > 0
    assert set(result.result("routed").routing.choices) == set(result.eval_set.qrels)


def test_partial_coverage_and_unknown_ids_are_counted_never_dropped_silently(demo_bm25, tmp_path):
    _, path = demo_bm25
    lines = path.read_text().splitlines()
    qids = list(dict.fromkeys(line.split()[0] for line in lines))
    keep = set(qids[: len(qids) // 2])
    partial = tmp_path / "partial.trec"
    kept = [line for line in lines if line.split()[0] in keep]
    first = kept[0].split()
    kept.insert(0, f"{first[0]} Q0 no-such-doc 0 999.0 x")
    partial.write_text("\n".join(kept) + "\n")

    result = run_recipe(_recipe([{"name": "file", "stages": [{"run": {"path": str(partial)}}]}]),
                        show_progress=False, score_cache=False)
    coverage = result.result("file").stages[0].info["coverage"]
    judged = len(result.eval_set.qrels)
    assert coverage == {**coverage, "covered": len(keep), "missing": judged - len(keep), "unknown_doc_ids": 1,
                        "queries_with_unknown_ids": 1}
    missing = [q for q in result.eval_set.qrels if q not in keep]
    assert all(result.result("file").evaluation.per_query["ndcg@10"][q] == 0 for q in missing)
    message = next(n for n in notes(result) if "covers" in n)
    assert f"covers {len(keep)} of {judged}" in message and "score 0" in message and "no-such-doc" in message

    only = run_recipe(_recipe([{"name": "file", "stages": [{"run": {"path": str(partial), "only_covered": True}}]}]),
                      show_progress=False, score_cache=False)
    assert set(only.eval_set.qrels) == keep


def test_a_missing_run_file_is_a_config_error_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"stages\[0\]\.run\.path.*not found"):
        _recipe([{"name": "file", "stages": [{"run": {"path": str(tmp_path / "nope.trec")}}]}])


def test_diagnose_and_compare_take_run_files(demo_bm25, tmp_path, capsys):
    _, path = demo_bm25
    out = tmp_path / "diag"
    assert main(["diagnose", "--data", "demo", "--run", f"mine={path}", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    coverage = report["systems"]["mine"]["stage_one"]["coverage"]
    assert coverage["covered"] == 60 and coverage["missing"] == report["n_queries"] - 60
    assert (out / "runs" / "mine.trec").read_text().count("\n") == path.read_text().count("\n")
    assert "covers" in (out / "report.md").read_text()

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("data: {source: demo, max_queries: 60}\nlatency: {sample: 0}\n"
                      "pipelines:\n  - {name: bm25, stages: [bm25]}\n")
    cmp_out = tmp_path / "compare"
    assert main(["compare", str(recipe), "--run", f"mine={path}", "--out", str(cmp_out), "--no-plots",
                 "--quiet"]) == 0
    data = json.loads((cmp_out / "report.json").read_text())
    bm25, mine = (next(p for p in data["pipelines"] if p["name"] == n) for n in ("bm25", "mine"))
    assert all(math.isclose(bm25["overall"][m]["mean"], mine["overall"][m]["mean"]) for m in bm25["overall"])
