"""Every mistake in the user's own input gets a message that says what to fix, and no traceback."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rerank_fix.cli import main

CORPUS = [{"_id": "d1", "title": "Refunds", "text": "Annual plans: 30 days."},
          {"_id": "d2", "title": "Keys", "text": "Rotate API keys."}]
QUERIES = [{"_id": "q1", "text": "refund annual"}, {"_id": "q2", "text": "rotate key"}]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"


def write_set(root: Path, corpus=None, queries=None, qrels=QRELS, raw_corpus=None, raw_queries=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    (root / "corpus.jsonl").write_text(raw_corpus if raw_corpus is not None else
                                       "\n".join(json.dumps(d) for d in (corpus or CORPUS)) + "\n")
    (root / "queries.jsonl").write_text(raw_queries if raw_queries is not None else
                                        "\n".join(json.dumps(q) for q in (queries or QUERIES)) + "\n")
    (root / "qrels" / "test.tsv").write_text(qrels)
    return root


def diagnose(capsys, data, *extra) -> tuple[int, str]:
    code = main(["diagnose", "--data", str(data), "--retriever", "bm25", "--out", str(Path(data).parent / (Path(data).name + "-out")), *extra])
    err = capsys.readouterr().err
    return code, err


CASES = {
    "malformed_json": (dict(raw_corpus='{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": oops}\n'),
                       r"corpus\.jsonl:2: malformed JSON"),
    "not_an_object": (dict(raw_queries='["q1", "text"]\n'), r"queries\.jsonl:1: expected a JSON object"),
    "missing_query_id": (dict(raw_queries='{"text": "refund"}\n'), r"queries\.jsonl:1: missing field '_id'"),
    "missing_doc_text": (dict(raw_corpus='{"_id": "d1", "title": "x"}\n'), r"corpus\.jsonl:1: document 'd1' has no 'text'"),
    "duplicate_doc_id": (dict(corpus=CORPUS + [{"_id": "d1", "text": "again"}]),
                         r"corpus\.jsonl:3: duplicate document id 'd1' \(first seen on line 1\)"),
    "duplicate_query_id": (dict(queries=QUERIES + [{"_id": "q2", "text": "again"}]),
                           r"queries\.jsonl:3: duplicate query id 'q2'"),
    "empty_query": (dict(queries=[QUERIES[0], {"_id": "q2", "text": "   "}]),
                    r"queries\.jsonl:2: query 'q2' has empty text"),
    "unknown_query_in_qrels": (dict(qrels=QRELS + "q9\td1\t1\n"), r"judged query id\(s\) are not in the queries file.*'q9'"),
    "unknown_doc_in_qrels": (dict(qrels=QRELS + "q1\td77\t1\n"), r"judged document id\(s\) are not in the corpus.*'d77'"),
    "bad_grade": (dict(qrels=QRELS + "q1\td2\thigh\n"), r"test\.tsv:4: relevance score 'high' is not a number"),
    "wrong_columns": (dict(qrels=QRELS + "q1\td2\n"), r"test\.tsv:4: expected 3 columns"),
    "no_relevant": (dict(qrels="query-id\tcorpus-id\tscore\nq1\td1\t0\n"), r"no query has a relevant document"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_data_gives_clear_message(case, tmp_path, capsys):
    kwargs, pattern = CASES[case]
    code, err = diagnose(capsys, write_set(tmp_path / case, **kwargs))
    assert code == 2
    assert "Traceback" not in err
    import re

    assert re.search(pattern, " ".join(err.split())), err


def test_missing_split_lists_available(tmp_path, capsys):
    code, err = diagnose(capsys, write_set(tmp_path / "s"), "--split", "train")
    assert code == 2 and "no split 'train'" in err and "available splits: test" in err


def test_missing_folder(tmp_path, capsys):
    code, err = diagnose(capsys, tmp_path / "nope")
    assert code == 2 and "no such file or folder" in err


def test_missing_queries_file_lists_options(tmp_path, capsys):
    code, err = diagnose(capsys, write_set(tmp_path / "s"), "--queries", "queries.typo1.jsonl")
    assert code == 2 and "available: queries.jsonl" in err


def test_bad_length_buckets(tmp_path, capsys):
    code, err = diagnose(capsys, write_set(tmp_path / "s"), "--length-buckets", "9,4")
    assert code == 2 and "length buckets must be increasing" in err


def test_rerank_depth_beyond_stage_one(tmp_path, capsys):
    code, err = diagnose(capsys, write_set(tmp_path / "s"), "--rerank-depth", "500")
    assert code == 2 and "--rerank-depth must be between 1 and the stage-one depth 100" in err


def test_missing_model_path(tmp_path, capsys):
    code = main(["diagnose", "--data", str(write_set(tmp_path / "s")), "--retriever", "dense",
                 "--model", "./no/such/model", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "model path './no/such/model' does not exist" in err


def test_labels_file_with_two_labels_for_one_query(tmp_path, capsys):
    labels = tmp_path / "labels.tsv"
    labels.write_text("q1\tlegal\nq1\tmedical\n")
    code, err = diagnose(capsys, write_set(tmp_path / "s"), "--labels", str(labels))
    assert code == 2 and "labels.tsv:2: query 'q1' has two labels" in err


def test_conflicting_grades_warn_and_keep_higher(tmp_path, caplog):
    from rerank_fix.data import load_eval_set

    root = write_set(tmp_path / "s", qrels=QRELS + "q1\td1\t2\n")
    with caplog.at_level(logging.WARNING, logger="rerank_fix.data"):
        ds = load_eval_set(root)
    assert ds.qrels["q1"]["d1"] == 2
    assert "conflicting grades" in caplog.text and "kept the higher grade 2" in caplog.text


def test_pairs_file_missing_field(tmp_path, capsys):
    root = write_set(tmp_path / "s")
    pairs = root / "pairs.jsonl"
    pairs.write_text('{"query": "refund annual", "doc_id": "d1"}\n{"query": "rotate key"}\n')
    code, err = diagnose(capsys, pairs)
    assert code == 2 and "pairs.jsonl:2: missing field 'doc_id'" in err


def test_pairs_file_loads(tmp_path):
    from rerank_fix.data import load_eval_set

    root = write_set(tmp_path / "s")
    pairs = root / "pairs.csv"
    pairs.write_text("query,doc_id,segment\nrefund annual,d1,docs\nrefund annual,d2,docs\nrotate key,d2,admin\n")
    ds = load_eval_set(pairs)
    assert len(ds.queries) == 2
    (qid,) = [q for q, query in ds.queries.items() if query.text == "refund annual"]
    assert ds.qrels[qid] == {"d1": 1, "d2": 1}
    assert ds.queries[qid].metadata == {"segment": "docs"}


def test_saved_hf_dataset_loads(tmp_path):
    datasets = pytest.importorskip("datasets")
    bundle = datasets.DatasetDict({
        "corpus": datasets.Dataset.from_list(CORPUS),
        "queries": datasets.Dataset.from_list(QUERIES),
        "test": datasets.Dataset.from_list([{"query-id": "q1", "corpus-id": "d1", "score": 1}]),
    })
    bundle.save_to_disk(str(tmp_path / "hf"))
    from rerank_fix.data import load_eval_set

    ds = load_eval_set(tmp_path / "hf", "test")
    assert list(ds.queries) == ["q1"] and ds.corpus["d2"].title == "Keys"
