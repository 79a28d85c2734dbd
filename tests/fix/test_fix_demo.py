"""``rerank-fix fix`` end to end on the bundled demo: the bundle's files, its contracts, the round trip
(the bundle loaded back reproduces the recommended run's per-query metrics exactly) and clear errors."""
from __future__ import annotations

import json

import pytest
import yaml

from rerank_fix.cli import main
from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.metrics import per_query
from rerank_fix.fix import fix, load_bundle
from rerank_fix.pipeline.routing import RoutingPolicy


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    out = tmp_path_factory.mktemp("fix") / "bundle"
    # The bundled MiniLM with a fresh head as the reranker: a real cross-encoder that knows nothing, so
    # the selection has a harmful option to refuse.
    # 150 of the 243 test queries keep the suite fast and still hold typo-heavy and short-query strata.
    result = fix("demo", out, rerankers={"raw": "bundled"}, depths=[10], top_k=50, latency_sample=2,
                 max_length=128, max_queries=150, show_progress=False)
    return result, out


def test_bundle_files(fixed):
    result, out = fixed
    for name in ("bundle.yaml", "policy.json", "serving.json", "MODEL_CARD.md", "report.md", "report.html",
                 "report.json", "per_query.tsv", "runs/recommended.trec", "runs/routed-nested-cv.trec"):
        assert (out / name).is_file(), name
    assert not list(out.parent.glob(".bundle.*"))  # no temporary folder left behind
    bundle = yaml.safe_load((out / "bundle.yaml").read_text(encoding="utf-8"))
    assert bundle["format"] == "rerank-fix-bundle/1" and bundle["versions"]["rerank_fix"]
    for name, pipeline in bundle["pipelines"].items():
        assert pipeline["stages"] and "tune" not in json.dumps(pipeline["stages"])  # tuned values are fixed
    policy = RoutingPolicy.load(out / "policy.json")
    assert policy.dimension != "query_set" and set(bundle["pipelines"]) >= {policy.fallback, *policy.choices.values()}
    serving = json.loads((out / "serving.json").read_text(encoding="utf-8"))
    assert serving["format"] == "rerank-fix-serving/1"
    for action in [serving["default"], *serving["strata"].values()]:
        assert action["action"] in ("keep", "rerank", "blend")
        if action["action"] != "keep":
            assert action["reranker"] in serving["rerankers"]
    if serving["stratifier"] and serving["stratifier"]["type"] == "typo":
        assert (out / serving["stratifier"]["vocabulary_file"]).is_file()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.splitlines()[3].startswith("VERDICT  ") and "## Δ ndcg@10 vs dense, per stratum" in md
    assert "data:image/png;base64," in (out / "report.html").read_text(encoding="utf-8")


def test_candidates_and_guarantees(fixed):
    result, _ = fixed
    names = [c.name for c in result.candidates]
    assert names[:4] == ["dense", "bm25", "rrf", "weighted-rrf"] and "dense+raw-top10-blend" in names
    assert "spell+dense" in names  # the demo has typo-heavy queries
    assert len(result.guarantees) == 2
    worse = [c for c in result.routed_comparisons if c.verdict == "hurts"]
    assert result.guarantees[0].holds == (not worse)
    if not result.safe:
        assert not result.recommended.switched and result.recommended.fallback == "dense"
    # The routed figure is the nested-CV one: every query scored once, by its own fold's policy.
    assert set(result.nested.per_query) == set(result.comparison.eval_set.qrels)


def test_round_trip_reproduces_the_recommended_run_exactly(fixed):
    result, out = fixed
    # Loaded afresh, then cut to the queries fix was run on.
    eval_set = load_eval_set("demo", "test").subset(sorted(result.comparison.eval_set.qrels))
    applied = load_bundle(out).run(eval_set)
    scores = per_query(applied.run, eval_set.qrels, ["ndcg@10", "recall@5", "recall@50"])
    lines = (out / "per_query.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert len(lines) - 1 == len(eval_set.qrels)
    for line in lines[1:]:
        fields = dict(zip(header, line.split("\t")))
        q = fields["query_id"]
        assert applied.choices[q] == fields["pipeline"]
        for metric in ("ndcg@10", "recall@5", "recall@50"):
            assert scores[metric][q] == float(fields[metric]), (q, metric)


def test_rerun_replaces_only_its_own_bundle_and_refuses_other_folders(fixed, tmp_path, capsys):
    result, out = fixed
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a bundle written by rerank-fix fix"):
        fix("demo", other)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "mine"
    code = main(["fix", "--data", "demo", "--out", str(other)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "choose a new or empty folder" in err


@pytest.mark.parametrize("kwargs, message", [
    ({"rerankers": {"x": "no/such/folder/here"}}, "--reranker x=no/such/folder/here: model path"),
    ({"rerankers": ["justaname"]}, "--reranker 'justaname': expected NAME=VALUE"),
    ({"train_split": "test"}, "--train-split test: that is the evaluated split"),
    ({"budget_minutes": 3}, "--budget-minutes: give --train-split too"),
    ({"runs": {"mine": "missing.trec"}}, "--run mine=missing.trec: file not found"),
    ({"top_k": 20}, "headroom rule needs recall@50"),
])
def test_clear_errors_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(ConfigError) as info:
        fix("demo", tmp_path / "out", **kwargs)
    assert message in str(info.value)
    assert not (tmp_path / "out").exists()


def test_the_bundle_is_what_rerank_fix_load_serves(fixed):
    """The contract between ``fix`` and ``serve``: the bundle's serving.json drives rerank_fix.load."""
    import rerank_fix

    _, out = fixed
    deployment = rerank_fix.load(out)
    docs = ["Reset your password from the sign-in page.", "Invoices are emailed monthly.", "Two-factor setup guide."]
    ranked = deployment.rerank("how do I reset my password", docs, scores=[0.9, 0.2, 0.5])
    assert sorted(i for i, _ in ranked) == [0, 1, 2]
    serving = json.loads((out / "serving.json").read_text(encoding="utf-8"))
    info = deployment.info()
    assert info["versions"]["rerank_fix"] and info["policy"]
    if serving["default"]["action"] == "keep" and not serving["strata"]:
        assert [i for i, _ in ranked] == [0, 1, 2]  # keep: the stage-one order as given


def test_report_states_the_cross_encoder_pairs_of_the_policy(fixed):
    """The pairs figure, recounted from the recommended policy and the stage-one runs."""
    result, out = fixed
    pairs = result.depth_pairs
    assert pairs is not None  # the demo has reranker candidates
    comp = result.comparison
    by_name = {c.name: c for c in result.candidates}
    policy = result.nested.outcome.deploy  # the per-stratum choice (recommended unless a guarantee failed)
    labels = comp.evaluator.assignments.get(policy.dimension, {})

    def cost(candidate, q):
        if not candidate.uses_cross_encoder:
            return 0
        return min(candidate.depth, len(comp.result(candidate.base).run.results.get(q, [])))

    queries = list(comp.eval_set.qrels)
    by_hand = sum(cost(by_name[policy.choice_for("all" if policy.dimension == "all" else labels.get(q, "all"))], q)
                  for q in queries)
    assert pairs.policy_pairs == by_hand and pairs.n_queries == len(queries)
    if result.recommended is not policy and not result.recommended.switched:
        assert pairs.recommended_pairs == sum(cost(by_name[result.recommended.fallback], q) for q in queries)
    deepest = pairs.fixed[0]
    assert deepest.depth == max(c.depth for c in result.candidates if c.uses_cross_encoder)
    assert deepest.pairs == sum(cost(by_name[deepest.candidate], q) for q in queries)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["depth_pairs"]["policy_pairs"] == by_hand
    assert report["depth_pairs"]["fixed"][0]["pairs_saved"] == deepest.pairs - by_hand
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Cross-encoder pairs" in md and "cross-encoder pairs:" in md.split("```")[1]
