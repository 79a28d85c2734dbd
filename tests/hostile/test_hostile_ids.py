"""Ids: non-empty, no whitespace or control characters; run files the project writes read back identically,
and an id can never forge or split a TREC line."""
from __future__ import annotations

import json

import pytest
from hostile_helpers import CORPUS, QRELS, QUERIES, assert_user_error, cli, write_set

BAD_DOC_IDS = {
    "space": ("d 1", "a space"),
    "tab": ("d\t1", "a tab"),
    "newline": ("d1\nq1 Q0 forged 1 99 run", "a newline"),
    "carriage_return": ("d1\r", "a carriage return"),
    "escape": ("d\x1b[31m1", r"an escape \(ESC\)"),
    "nul": ("d\x001", "a NUL byte"),
    "no_break_space": ("d\u00a01", "a no-break space"),
    "line_separator": ("d\u20281", "U\\+2028 line separator"),
    "ideographic_space": ("d\u30001", "U\\+3000 ideographic space"),
    "only_spaces": ("   ", None),
    "empty": ("", None),
}


@pytest.mark.parametrize("case", sorted(BAD_DOC_IDS))
def test_bad_document_ids(case, tmp_path, capsys):
    doc_id, what = BAD_DOC_IDS[case]
    data = write_set(tmp_path / "data", corpus=[*CORPUS, {"_id": doc_id, "text": "x"}])
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    pattern = (rf"corpus\.jsonl:4: document id .* contains {what} — ids are written to space-separated TREC files"
               if what else r"corpus\.jsonl:4: field '_id' is empty")
    assert_user_error(result, pattern)
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.parametrize("query_id", ["q 1", "q\t1", "q\n1", "q\x07"])
def test_bad_query_ids(query_id, tmp_path, capsys):
    data = write_set(tmp_path / "data", queries=[*QUERIES, {"_id": query_id, "text": "x"}])
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    assert_user_error(result, r"queries\.jsonl:4: query id .* contains")


@pytest.mark.parametrize("value,kind", [(["d1"], "list"), ({"a": 1}, "dict"), (True, "bool")])
def test_ids_that_are_not_strings(value, kind, tmp_path, capsys):
    data = write_set(tmp_path / "data", corpus=[*CORPUS, {"_id": value, "text": "x"}])
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    assert_user_error(result, rf"corpus\.jsonl:4: field '_id' must be a string, got {kind}")


def test_qrels_id_with_a_no_break_space(tmp_path, capsys):
    data = write_set(tmp_path / "data", qrels=QRELS + "q\u00a01\td1\t1\n")
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    assert_user_error(result, r"test\.tsv:5: query id 'q\\xa01' contains a no-break space")


def test_an_id_quoted_in_a_message_is_cut_short(tmp_path, capsys):
    long_id = "x" * 100_000 + " y"
    data = write_set(tmp_path / "data", corpus=[*CORPUS, {"_id": long_id, "text": "x"}])
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out")
    match = assert_user_error(result, r"\(100002 chars\) contains a space")
    assert len(match.group(0)) < 400


NASTY_BUT_LEGAL = ["d1", "Q0", "007", "7", "#comment", "'quoted'", '"dq"', "a;b", "ünïcödé", "汉字", "🙂",
                   "zero\u200bwidth", "rtl\u200fmark", "a" * 2000, "-1", "1e5", "nan", "d\\n1", "<script>"]


def test_run_files_round_trip_nasty_ids(tmp_path):
    from rerank_fix.core.run import Run

    scores = {qid: {doc: float(i) + 0.125 for i, doc in enumerate(NASTY_BUT_LEGAL)} for qid in ["q1", "ü q"[2:], "🙂"]}
    run = Run.from_scores("my run\twith\nodd name", scores)
    path = run.to_trec(tmp_path / "nasty.trec")
    back = Run.from_trec(path)
    assert back.results == run.results
    assert back.name == "my_run_with_odd_name"
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3 * len(NASTY_BUT_LEGAL)


@pytest.mark.parametrize("doc_id", ["d1\nq1 Q0 forged 1 99.0 run", "d 1", "d\t1", "d\u20281", ""])
def test_the_trec_writer_refuses_an_id_that_would_forge_a_line(doc_id, tmp_path):
    from rerank_fix.errors import DataError
    from rerank_fix.core.run import Run

    run = Run.from_scores("r", {"q1": {"d0": 2.0, doc_id: 1.0}})
    with pytest.raises(DataError, match="document id"):
        run.to_trec(tmp_path / "runs" / "r.trec")
    assert not (tmp_path / "runs" / "r.trec").exists()


def test_diagnose_runs_read_back_with_the_corpus_ids(tmp_path, capsys):
    from rerank_fix.core.run import Run

    ids = ["ünï-1", "汉字", "#2", "'q'", "Q0"]
    corpus = [{"_id": i, "text": f"refund annual plan number {n}"} for n, i in enumerate(ids)]
    queries = [{"_id": "q/1", "text": "refund annual plan"}]
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"q/1\t{i}\t1\n" for i in ids[:2])
    data = write_set(tmp_path / "data", corpus=corpus, queries=queries, qrels=qrels)
    result = cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", tmp_path / "out",
                 "--min-stratum-size", "1")
    assert result.code == 0, result.err
    run = Run.from_trec(tmp_path / "out" / "runs" / "bm25.trec")
    assert set(run.results) == {"q/1"} and set(run.ranked_ids("q/1")) == set(ids)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["n_queries"] == 1
