"""The hard-negative stress set (`mine --stress-set`): real BM25 over titles, the miner's own duplicate check."""
from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from rerank_fix.cli import main
from rerank_fix.core.run import Run
from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.data import load_eval_set
from rerank_fix.errors import ConfigError
from rerank_fix.mine.dedup import DuplicateChecker
from rerank_fix.mine.distractors import (CONTROL, SENTENCE_SWAP, TITLE_NEIGHBOUR, TREATED, Distractor,
                                         StressConfig, build_stress_set, distractor_outranking, headline,
                                         outranking_summary, read_manifest, split_sentences)

ROOT = Path(__file__).resolve().parents[2]


def _tiny() -> EvalSet:
    docs = [
        Document("pos", "Vitamin D deficiency and hip fractures in older women",
                 "We followed 2,000 women for ten years. Low vitamin D doubled the risk of hip fracture. "
                 "Bone density was measured yearly. The cohort was recruited from clinics."),
        # Shares the rare title words (vitamin, deficiency, fractures) but is about infants and rickets.
        Document("near-topic", "Vitamin D deficiency in infants and rickets fractures",
                 "Rickets is rare in infants given supplements. Breastfed infants had lower levels. "
                 "Sun exposure varied by season."),
        # A reprint of the positive: a duplicate, so never a distractor.
        Document("reprint", "Vitamin D deficiency and hip fractures in older women",
                 "We followed 2,000 women for ten years. Low vitamin D doubled the risk of hip fracture. "
                 "Bone density was measured yearly. The cohort was recruited from clinics."),
        Document("other", "Statin therapy and muscle pain",
                 "Muscle pain was reported by one patient in ten. Statins lowered cholesterol. "
                 "Dropout was higher in the first month."),
        Document("coffee", "Coffee and blood pressure", "Coffee raises blood pressure for a few hours."),
    ]
    corpus = {d.doc_id: d for d in docs}
    queries = {"q1": Query("q1", "low vitamin d doubles hip fracture risk"),
               "q2": Query("q2", "coffee blood pressure", {"segment": "diet"})}
    return EvalSet("tiny", corpus, queries, {"q1": {"pos": 1}, "q2": {"coffee": 1}})


def test_title_neighbours_share_title_terms_and_skip_positives_and_duplicates():
    stress = build_stress_set(_tiny(), StressConfig(neighbours=3, swaps=0))
    q1 = [d for d in stress.distractors if d.query_id == "q1"]
    assert [d.doc_id for d in q1] == ["near-topic"]
    assert q1[0].kind == TITLE_NEIGHBOUR and {"vitamin", "defici"} <= set(q1[0].shared_terms)
    assert all(d.doc_id not in {"pos", "reprint"} for d in stress.distractors)
    assert stress.stats["added_documents"] == 0
    assert {q.metadata["distractors"] for q in stress.eval_set.queries.values()} == {CONTROL}


def test_sentence_swap_removes_the_key_sentence_and_keeps_the_title():
    stress = build_stress_set(_tiny(), StressConfig(neighbours=1, swaps=1, swap_sentences=1, swap_share=1.0))
    swap = next(d for d in stress.distractors if d.kind == SENTENCE_SWAP and d.query_id == "q1")
    copy = stress.eval_set.corpus[swap.doc_id]
    assert swap.doc_id == "pos#swap1" and copy.title == stress.eval_set.corpus["pos"].title
    assert swap.removed == ["Low vitamin D doubled the risk of hip fracture."]
    assert swap.removed[0] not in copy.text and swap.inserted[0] in copy.text
    assert swap.donor_id == "near-topic"  # the title neighbour donates, so the copy stays on topic
    assert copy.metadata == {"distractor": SENTENCE_SWAP, "of": "pos"}
    assert stress.eval_set.queries["q1"].metadata["distractors"] == TREATED
    assert stress.eval_set.queries["q2"].metadata == {"segment": "diet", "distractors": TREATED}
    # "coffee" has one sentence: nothing to swap, and the count says so.
    assert stress.stats["queries"]["no_swap"] == 1


def test_demo_stress_set_is_deterministic_and_sound():
    demo = load_eval_set("demo", split="test")
    first = build_stress_set(demo, StressConfig(seed=3))
    again = build_stress_set(demo, StressConfig(seed=3))
    other = build_stress_set(demo, StressConfig(seed=4))
    assert first.distractors == again.distractors and list(first.eval_set.corpus) == list(again.eval_set.corpus)
    assert first.distractors != other.distractors
    treated = {q for q, query in first.eval_set.queries.items() if query.metadata["distractors"] == TREATED}
    assert 0.35 < len(treated) / len(first.eval_set.queries) < 0.65
    assert {d.query_id for d in first.distractors if d.kind == SENTENCE_SWAP} <= treated
    corpus = first.eval_set.corpus
    checker = DuplicateChecker(lambda d: corpus[d].full_text)
    for d in first.distractors:
        positives = [p for p, g in demo.qrels[d.query_id].items() if g > 0]
        assert d.doc_id not in positives
        if d.kind == TITLE_NEIGHBOUR:
            assert len(d.shared_terms) >= 2 and checker.check(d.doc_id, positives) is None


def test_write_round_trip_through_load_eval_set(tmp_path):
    demo = load_eval_set("demo", split="test").subset(["q0005", "q0006", "q0007"])
    stress = build_stress_set(demo, StressConfig(swap_share=1.0))
    paths = stress.write(tmp_path / "stress")
    loaded = load_eval_set(str(tmp_path / "stress"), split="test")
    assert set(loaded.queries) == {"q0005", "q0006", "q0007"} and loaded.qrels == demo.qrels
    assert len(loaded.corpus) == len(demo.corpus) + stress.stats["added_documents"]
    assert loaded.queries["q0005"].metadata["distractors"] == TREATED
    assert read_manifest(paths["manifest"]) == stress.distractors
    assert json.loads(paths["stats"].read_text())["config"]["swap_share"] == 1.0


def test_outranking_before_and_after_a_reranker():
    manifest = [Distractor("q", "p", "n", TITLE_NEIGHBOUR), Distractor("q", "p", "p#swap1", SENTENCE_SWAP),
                Distractor("r", "s", "m", TITLE_NEIGHBOUR)]
    qrels = {"q": {"p": 1}, "r": {"s": 1}}
    before = Run.from_scores("dense", {"q": {"p#swap1": 3, "p": 2, "n": 1}, "r": {"x": 2, "s": 1}})
    after = Run.from_scores("rerank", {"q": {"p": 3, "n": 2, "p#swap1": 1}, "r": {"m": 2, "s": 1}})
    rows = distractor_outranking(before, qrels, manifest)
    assert rows["q"]["outranked"] == {SENTENCE_SWAP: True, TITLE_NEIGHBOUR: False}
    assert rows["r"]["in_list"] == {TITLE_NEIGHBOUR: 0}
    summary = {(r["group"], r["kind"]): r for r in outranking_summary(distractor_outranking(after, qrels, manifest),
                                                                       {"q": "a", "r": "b"})}
    assert summary[("all", TITLE_NEIGHBOUR)]["queries"] == 2 and summary[("all", TITLE_NEIGHBOUR)]["rate"] == 0.5
    assert summary[("all", SENTENCE_SWAP)]["rate"] == 0.0
    assert summary[("b", TITLE_NEIGHBOUR)]["outranked"] == 1
    # A distractor beyond the depth does not count.
    assert distractor_outranking(after, qrels, manifest, depth=1)["q"]["in_list"][TITLE_NEIGHBOUR] == 0


def test_headline_and_sentences():
    assert headline(Document("d", "", "First one here. Second.")) == "First one here."
    assert split_sentences("A b. C d? E f") == ["A b.", "C d?", "E f"]


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="swap_share"):
        StressConfig(swap_share=1.5)
    with pytest.raises(ConfigError, match="nothing to build"):
        StressConfig(neighbours=0, swaps=0)


def test_cli_stress_set_and_outranking_script(tmp_path, capsys, monkeypatch):
    out = tmp_path / "stress"
    assert main(["mine", "--stress-set", "--data", "demo", "--split", "test", "--out", str(out)]) == 0
    assert "swapped copies" in capsys.readouterr().out
    assert main(["mine", "--stress-set", "--data", "demo", "--split", "test", "--out", str(out), "--seed", "1"]) == 0
    assert {p.name for p in out.iterdir()} >= {"corpus.jsonl", "queries.jsonl", "qrels", "distractors.jsonl",
                                               "stress.json"}
    assert main(["mine", "--stress-set", "--data", "demo", "--out", str(tmp_path / "x"), "--swap-share", "2"]) == 2
    assert "swap_share" in capsys.readouterr().err
    # The outranking script over a compare-style folder of TREC runs.
    stress = load_eval_set(str(out), split="test")
    manifest = read_manifest(out / "distractors.jsonl")
    swapped = {d.query_id: d.doc_id for d in manifest if d.kind == SENTENCE_SWAP}
    compare = tmp_path / "compare"
    (compare / "runs").mkdir(parents=True)
    dense = {q: {swapped[q]: 2.0, next(iter(stress.qrels[q])): 1.0} for q in swapped}
    Run.from_scores("dense", dense).to_trec(compare / "runs" / "dense.trec")
    monkeypatch.setattr(sys, "argv", ["x", str(out), str(compare)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "scripts" / "distractor_outranking.py"), run_name="__main__")
    assert exit_info.value.code == 0
    report = json.loads((tmp_path / "compare-distractors" / "distractor-outranking.json").read_text())
    row = next(r for r in report["pipelines"]["dense"] if r["group"] == "all" and r["kind"] == SENTENCE_SWAP)
    assert row["queries"] == len(swapped) and row["rate"] == 1.0
    labels = (tmp_path / "compare-distractors" / "distractor-strata.tsv").read_text().splitlines()
    assert labels[0] == "query_id\tlabel" and len(labels) > len(swapped)


@pytest.mark.parametrize("name", ["domain-mismatch", "short-typo-queries", "hard-negatives", "truncated-candidates"])
def test_failure_case_recipes_validate_with_a_model_override(name):
    from rerank_fix.models import default_bi_encoder_path
    from rerank_fix.pipeline.recipe import load_recipe

    model = "scifact-ce" if name == "domain-mismatch" else "reranker"
    recipe = load_recipe(ROOT / "recipes" / "failure-cases" / f"{name}.yaml",
                         {"data.source": "demo", f"models.{model}": {"path": default_bi_encoder_path()}})
    assert recipe.baseline.name == "dense" and len(recipe.pipelines) >= 3


def _script(name: str, argv: list[str], monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", [name, *argv])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "scripts" / name), run_name="__main__")
    assert exit_info.value.code == 0


def test_stage_one_strata_and_casebook_table_scripts(tmp_path, monkeypatch, capsys):
    Run.from_scores("dense", {"a": {"p": 2, "x": 1}, "b": {"x": 2}, "c": {"p2": 1}}).to_trec(tmp_path / "dense.trec")
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\na\tp\t1\nb\tq\t1\nc\tp2\t1\nc\tq2\t1\n")
    _script("stage_one_strata.py", [str(tmp_path / "dense.trec"), str(tmp_path / "qrels.tsv"),
                                    str(tmp_path / "labels.tsv"), "--k", "1"], monkeypatch)
    assert (tmp_path / "labels.tsv").read_text().splitlines() == [
        "query_id\tlabel", "a\trecall@1 = 1", "b\trecall@1 = 0", "c\t0 < recall@1 < 1"]
    _script("stage_one_strata.py", [str(tmp_path / "dense.trec"), str(tmp_path / "qrels.tsv"),
                                    str(tmp_path / "ranks.tsv"), "--by", "rank"], monkeypatch)
    assert (tmp_path / "ranks.tsv").read_text().splitlines()[1:] == [
        "a\tfirst positive in top 5", "b\tno positive in top 50", "c\tfirst positive in top 5"]
    stat = lambda mean: {"mean": mean, "ci_low": mean - 0.1, "ci_high": mean + 0.1, "n": 4}  # noqa: E731
    metrics = {"recall@5": stat(0.2), "recall@50": stat(0.6), "ndcg@10": stat(0.5)}
    report = {"baseline": "dense", "pipelines": [
        {"name": "dense", "overall": metrics, "strata": [{"dimension": "all", "stratum": "all", "n": 4,
                                                          "metrics": metrics}]},
        {"name": "rerank", "overall": metrics, "strata": []}],
        "comparisons": [{"dimension": "all", "stratum": "all", "metric": "ndcg@10", "pipeline": "rerank",
                         "versus": "dense", "delta": stat(0.05), "verdict": "helps"}]}
    (tmp_path / "report.json").write_text(json.dumps(report))
    capsys.readouterr()
    _script("casebook_table.py", [str(tmp_path / "report.json")], monkeypatch)
    assert "| all | 4 | 0.500 | 0.400 | rerank | +0.050 [-0.050, +0.150] ▲ |" in capsys.readouterr().out
