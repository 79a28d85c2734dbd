"""A whole comparison on the bundled demo data with a real (tiny, quick-trained) cross-encoder."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerank_fix.cli import main
from rerank_fix.evaluate.evaluator import ALL
from rerank_fix.pipeline.recipe import load_recipe
from rerank_fix.pipeline.routing import RoutingPolicy
from rerank_fix.pipeline.runner import run_recipe
from rerank_fix.report.compare import write_comparison_report
from rerank_fix.core.run import Run

RECIPE = """
name: tiny
data: {source: demo, split: test, max_queries: 60}
metrics: [recall@5, recall@10, recall@20, ndcg@10]
compare_metrics: [ndcg@10, recall@5]
min_stratum_size: 8
folds: 3
latency: {sample: 3}
models:
  tiny-ce:
    quick_train: {splits: [train], max_queries: 24, negatives: 1, max_length: 64, batch_size: 16,
                  learning_rate: 1.0e-4}
defaults:
  dense: {top_k: 20}
  bm25: {top_k: 20}
  rrf: {top_k: 20, tune: {weight_grid: [0.0, 0.5, 1.0], k_grid: [10, 60]}}
  rerank: {depth: 6, max_length: 64, batch_size: 16}
pipelines:
  - name: dense
    stages: [dense]
  - name: dense+rerank
    stages: [dense, {rerank: {model: tiny-ce}}]
  - name: bm25
    stages: [bm25]
  - name: rrf
    stages: [{rrf: {retrievers: [dense, bm25]}}]
  - name: weighted-rrf
    stages: [{rrf: {retrievers: [dense, bm25], weights: tune, k: tune}}]
  - name: rrf+rerank
    stages: [{rrf: {retrievers: [dense, bm25]}}, {rerank: {model: tiny-ce}}]
  - name: spell+bm25
    stages: [{rewrite: {mode: fuse, config: {backend: spell}}}, bm25]
  - name: routed
    route: {between: [dense, dense+rerank, rrf]}
also_compare:
  - [rrf, bm25]
  - [rrf+rerank, dense+rerank]
"""


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    path = folder / "tiny.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    recipe = load_recipe(path)
    result = run_recipe(recipe, show_progress=False)
    files = write_comparison_report(result, folder / "out")
    return recipe, result, files


def test_every_pipeline_scored_on_the_same_queries(compared):
    recipe, result, _ = compared
    assert [r.name for r in result.results] == [p.name for p in recipe.pipelines]
    qids = set(result.eval_set.qrels)
    assert len(qids) == 60
    for r in result.results:
        assert set(r.evaluation.per_query["ndcg@10"]) == qids
    groups = result.evaluator.groups()
    for name, comps in result.comparisons.items():
        assert len(comps) == len(groups) * len(recipe.compare_metrics)
        for c in comps:
            assert c.p_holm >= c.p_value or c.verdict == "too small to judge"
            base = result.baseline.evaluation.stratum(c.dimension, c.stratum).metrics[c.metric].mean
            assert c.delta.mean == pytest.approx(c.treatment.mean - base, abs=1e-9)


def test_stage_one_shared_not_recomputed(compared):
    _, result, _ = compared
    cache = result.cache
    assert cache["retrievers_indexed"] == 2  # one dense index and one BM25 index for every pipeline
    assert cache["stage_one_cache_hits"] >= 4
    assert cache["pairs_reused"] > 0  # rrf+rerank reuses the dense+rerank pair scores it shares
    rerank = result.result("dense+rerank")
    assert rerank.stages[0].cached  # dense came from the dense pipeline


def test_reranker_is_real_and_reorders_only_the_head(compared):
    _, result, _ = compared
    dense = result.result("dense").run
    reranked = result.result("dense+rerank").run
    changed = 0
    for qid in dense.results:
        head, tail = reranked.ranked_ids(qid)[:6], reranked.ranked_ids(qid)[6:]
        assert sorted(head) == sorted(dense.ranked_ids(qid)[:6])
        assert tail == dense.ranked_ids(qid)[6:]
        changed += head != dense.ranked_ids(qid)[:6]
    assert changed > 0
    model = result.models["tiny-ce"]
    assert model["source"] == "quick_train" and model["split"] == "train"
    assert Path(model["path"]).is_dir()
    triples = Path(model["path"]).parents[1] / "triples.jsonl"
    trained_ids = {json.loads(line)["query_id"] for line in triples.read_text().splitlines()}
    assert trained_ids and not trained_ids & set(result.eval_set.queries)


def test_tuned_fusion_is_cross_validated(compared):
    _, result, _ = compared
    tuned = result.result("weighted-rrf").stages[0].info["tuning"]
    assert len(tuned["folds"]) == 3
    assert sum(f["n_test"] for f in tuned["folds"]) == 60
    for f in tuned["folds"]:
        assert f["n_train"] + f["n_test"] == 60


def test_routed_pipeline_takes_each_query_from_a_chosen_option(compared):
    _, result, _ = compared
    routed = result.result("routed")
    assert routed.routing is not None
    for qid, choice in routed.routing.choices.items():
        assert routed.run.results[qid] == result.result(choice).run.results[qid]
    assert len(routed.routing.fold_policies) == 3
    assert routed.latency.n == 3


def test_latency_per_stage(compared):
    _, result, _ = compared
    for r in result.results:
        for s in r.stages:
            lat = s.latency()
            assert lat.n == 3 and 0 < lat.p50 <= lat.p95
        assert r.latency.p50 <= r.latency.p95
    rewrite = result.result("spell+bm25").stages[0]
    assert rewrite.kind == "rewrite" and rewrite.info["summary"]["n_queries"] == 60


def test_report_files(compared):
    _, result, files = compared
    out = files["dir"]
    md = files["md"].read_text(encoding="utf-8")
    for name in ("dense+rerank", "weighted-rrf", "routed", "## Headline", "## Latency per stage", "## Routing"):
        assert name in md
    html = files["html"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 4 and 'src="plots/' not in html
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert data["baseline"] == "dense"
    assert [p["name"] for p in data["pipelines"]] == [r.name for r in result.results]
    overall = next(c for c in data["comparisons"] if c["pipeline"] == "bm25" and c["dimension"] == ALL
                   and c["metric"] == "ndcg@10")
    assert overall["versus"] == "dense" and overall["baseline"]["mean"] == pytest.approx(
        result.comparison("bm25", ALL, ALL, "ndcg@10").baseline.mean)
    assert overall["delta"]["mean"] == pytest.approx(result.comparison("bm25", ALL, ALL, "ndcg@10").delta.mean)
    for r in result.results:
        loaded = Run.from_trec(out / "runs" / f"{r.name}.trec")
        assert loaded.ranked_ids(next(iter(r.run.results))) == r.run.ranked_ids(next(iter(r.run.results)))
    policy = RoutingPolicy.load(out / "routing" / "routed.policy.json")
    routed = policy.route(result.eval_set.queries, result.eval_set.corpus)
    assert set(routed.values()) <= {"dense", "dense+rerank", "rrf"}
    for png in data["files"]["plots"].values():
        assert (out / png).stat().st_size > 1000


def test_also_compare_pairs_are_paired_per_stratum_and_reported(compared):
    _, result, files = compared
    assert set(result.pairwise) == {("rrf", "bm25"), ("rrf+rerank", "dense+rerank")}
    overall = next(c for c in result.pairwise[("rrf", "bm25")] if c.dimension == ALL and c.metric == "ndcg@10")
    rrf, bm25 = (result.result(n).evaluation.per_query["ndcg@10"] for n in ("rrf", "bm25"))
    assert overall.n == len(rrf) and overall.delta.mean == pytest.approx(
        sum(rrf[q] - bm25[q] for q in rrf) / len(rrf), abs=1e-12)
    assert 0.0 <= overall.p_value <= 1.0 and overall.p_holm >= overall.p_value
    md = files["md"].read_text(encoding="utf-8")
    assert "## Other paired comparisons" in md and "**rrf+rerank** vs **dense+rerank**" in md
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert {(c["pipeline"], c["versus"]) for c in data["pairwise"]} == set(result.pairwise)


def test_also_compare_names_must_be_pipelines(tmp_path):
    from rerank_fix.errors import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text(RECIPE + "  - [rrf, nope]\n  - [bm25, bm25]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "also_compare[2][1]" in message and "'nope'" in message
    assert "also_compare[3]" in message and "itself" in message


def test_cli_compare_only(tmp_path, capsys, compared):
    path = tmp_path / "tiny.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    code = main(["compare", str(path), "--only", "bm25", "--only", "rrf", "--latency-sample", "0", "--no-plots",
                 "--quiet", "--out", str(tmp_path / "out")])
    assert code == 0
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in data["pipelines"]] == ["dense", "bm25", "rrf"]
    assert data["pipelines"][1]["latency_total"]["amortised"] is True
    # A pair whose pipelines --only left out is skipped; the one it kept is still compared.
    assert {(c["pipeline"], c["versus"]) for c in data["pairwise"]} == {("rrf", "bm25")}
    assert "rrf" in capsys.readouterr().out


def test_second_run_reuses_model_and_scores_from_disk(compared, tmp_path):
    recipe, result, _ = compared
    again = run_recipe(recipe, show_progress=False, only=["dense+rerank"])
    assert again.models["tiny-ce"]["reused"] is True
    assert again.cache["pairs_scored"] == 0 and again.cache["pairs_from_disk_cache"] > 0
    first = result.result("dense+rerank").run
    second = again.result("dense+rerank").run
    for qid in first.results:
        assert second.ranked_ids(qid) == first.ranked_ids(qid)
        assert dict(second.results[qid]) == pytest.approx(dict(first.results[qid]), abs=1e-5)
    fresh = run_recipe(recipe, show_progress=False, only=["dense+rerank"], score_cache=False)
    assert fresh.cache["pairs_from_disk_cache"] == 0 and fresh.cache["pairs_scored"] > 0


def test_saved_policy_applies_at_query_time(tmp_path):
    from rerank_fix.evaluate.strata import QueryLengthStratifier
    from rerank_fix.pipeline.routing import stratifier_config

    length = QueryLengthStratifier([6])
    policy = RoutingPolicy("length", stratifier_config(length), {"len ≤6": "bm25"}, "dense", ["dense", "bm25"])
    policy.save(tmp_path / "policy.json")
    (tmp_path / "r.yaml").write_text(f"""
data: {{source: demo, split: test, max_queries: 40}}
strata: {{length_buckets: [6], typo: false, fields: []}}
min_stratum_size: 5
folds: 2
latency: {{sample: 0}}
pipelines:
  - name: dense
    stages: [dense]
  - name: bm25
    stages: [bm25]
  - name: by-length
    route: {{policy: {tmp_path / 'policy.json'}}}
""", encoding="utf-8")
    result = run_recipe(load_recipe(tmp_path / "r.yaml"), show_progress=False)
    routed = result.result("by-length")
    labels = length.assign(result.eval_set.queries)
    assert {labels[q] for q in result.eval_set.qrels} == {"len ≤6", "len ≥7"}
    for qid in result.eval_set.qrels:
        source = "bm25" if labels[qid] == "len ≤6" else "dense"
        assert routed.run.results[qid] == result.result(source).run.results[qid]
    assert "saved policy" in routed.info["honesty"]
