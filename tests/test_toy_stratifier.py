"""A stratifier added in one file (this one) is used by diagnose, compare and routing with no other change."""
from __future__ import annotations

import json
from typing import Any, Mapping

from rerank_fix.cli import main
from rerank_fix.evaluate.strata import STRATIFIERS, Stratifier
from rerank_fix.pipeline.routing import RoutingPolicy


@STRATIFIERS.register("question-mark")
class QuestionMarkStratifier(Stratifier):
    """Questions (ending in '?', or starting with a question word) vs statements."""

    dimension = "question"
    WORDS = ("how", "what", "why", "where", "when", "can", "do", "does", "is", "who", "which")

    def __init__(self, words: tuple[str, ...] = WORDS) -> None:
        self.words = tuple(words)

    def assign(self, queries):
        def is_question(text: str) -> bool:
            text = text.strip().lower()
            return text.endswith("?") or text.split(" ", 1)[0] in self.words
        return {qid: "question" if is_question(q.text) else "statement" for qid, q in queries.items()}

    def to_config(self) -> dict[str, Any]:
        return {"type": "question-mark", "dimension": self.dimension, "words": list(self.words)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], corpus=None) -> Stratifier:
        return cls(tuple(config.get("words", cls.WORDS)))


def test_diagnose_uses_the_toy_stratifier(tmp_path):
    out = tmp_path / "diag"
    assert main(["diagnose", "--data", "demo", "--retriever", "bm25", "--max-queries", "60",
                 "--stratifier", "{type: question-mark}", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["strata"]["question"]) == {"question", "statement"}
    assert "| question | statement |" in (out / "report.md").read_text()


def test_compare_and_routing_use_the_toy_stratifier(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "data: {source: demo, max_queries: 80}\nlatency: {sample: 2}\nmin_stratum_size: 5\n"
        "strata: {typo: false, custom: [{type: question-mark}]}\n"
        "pipelines:\n  - {name: bm25, stages: [bm25]}\n  - {name: bm25-shallow, stages: [{bm25: {k1: 0.1, b: 0.1}}]}\n"
        "  - name: routed\n    route: {between: [bm25, bm25-shallow], dimensions: [question], min_stratum_size: 5}\n")
    out = tmp_path / "compare"
    assert main(["compare", str(recipe), "--out", str(out), "--no-plots", "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["strata"]["question"]) == {"question", "statement"}
    assert any(c["dimension"] == "question" for c in report["comparisons"])
    routed = next(p for p in report["pipelines"] if p["name"] == "routed")
    assert routed["info"]["routing"]["deploy"]["dimension"] in ("question", "all")

    # A policy on the toy dimension saves its config and is rebuilt from it at query time.
    from rerank_fix.core.types import Query

    policy = RoutingPolicy("question", QuestionMarkStratifier().to_config(), {"question": "bm25-shallow"}, "bm25",
                           ["bm25", "bm25-shallow"])
    saved = RoutingPolicy.load(policy.save(tmp_path / "policy.json"))
    assert saved.route({"a": Query("a", "how do I reset my password"), "b": Query("b", "password reset")}) == {
        "a": "bm25-shallow", "b": "bm25"}
