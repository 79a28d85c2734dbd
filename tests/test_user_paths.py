"""The user paths end to end: ``diagnose`` on the demo, and ``make demo``'s own command on a small sample."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from rerank_fix.cli import main

ROOT = Path(__file__).resolve().parents[1]


def strict_json(path: Path):
    """json.loads that rejects the NaN / Infinity tokens Python's json module would otherwise accept."""
    def refuse(token: str):
        raise ValueError(f"{path}: bare {token} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_diagnose_happy_path_on_the_demo(tmp_path):
    # A one-query stratum (from a labels file) has no CI and no test: those figures must be null, not NaN.
    from rerank_fix.data import load_eval_set

    qids = sorted(load_eval_set("demo").qrels)
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"{q}\t{'solo' if i == 0 else 'rest'}\n" for i, q in enumerate(qids)))
    out = tmp_path / "diag"
    code = main(["diagnose", "--data", "demo", "--retriever", "both", "--reranker", "bundled", "--rerank-depth", "5",
                 "--rerank-max-length", "64", "--max-queries", "40", "--labels", str(labels), "--out", str(out)])
    assert code == 0
    report = strict_json(out / "report.json")
    assert set(report["systems"]) == {"dense", "bm25"} and report["n_queries"] == 40
    for system in report["systems"].values():
        assert system["headroom"] and system["rerank_effect"]
    text = (out / "report.md").read_text()
    assert "## Stage one: dense" in text and "## Stage one: bm25" in text and "What reranking the top 5" in text
    for name in ("dense", "bm25", "dense+rerank", "bm25+rerank"):
        lines = (out / "runs" / f"{name}.trec").read_text().splitlines()
        assert lines and all(len(line.split()) == 6 for line in lines)
        assert len((out / f"per_query.{name}.tsv").read_text().splitlines()) == 41
    plots = sorted(p.name for p in out.glob("*.png"))
    assert plots == sorted(f"{kind}.{s}.png" for s in ("dense", "bm25")
                           for kind in ("headroom", "recall_curves", "rerank_effect"))
    assert all((out / p).read_bytes().startswith(b"\x89PNG") for p in plots)
    assert "![headroom.dense.png](headroom.dense.png)" in text


def test_make_demo_command_on_a_small_sample(tmp_path):
    makefile = (ROOT / "Makefile").read_text().splitlines()
    start = makefile.index(next(line for line in makefile if line.startswith("demo:")))
    command = shlex.split(makefile[start + 1].strip())
    assert command[0].endswith("bin/rerank-fix") and command[1] == "demo"
    argv = command[1:]
    argv[argv.index("--out") + 1] = str(tmp_path / "demo")
    assert main([*argv, "--max-queries", "20"]) == 0
    assert strict_json(tmp_path / "demo" / "diagnose" / "report.json")["n_queries"] == 20
    compare = strict_json(tmp_path / "demo" / "compare" / "report.json")
    assert compare["eval_set"]["queries"] == 20
    assert {p["name"] for p in compare["pipelines"]} >= {"dense", "dense+rerank", "rrf", "routed"}
    assert (tmp_path / "demo" / "compare" / "report.html").is_file()
    fixed = strict_json(tmp_path / "demo" / "fix" / "report.json")  # make demo ends with the fix verdict
    assert fixed["queries"] == 20 and fixed["verdict"].startswith(("deploy:", "keep the baseline"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_the_project_json_writer_never_writes_bare_constants(tmp_path, bad):
    from rerank_fix.core.jsonio import write_json

    path = write_json(tmp_path / "x.json", {"value": bad, "nested": [bad, 1.5]})
    assert strict_json(path) == {"value": None, "nested": [None, 1.5]}
