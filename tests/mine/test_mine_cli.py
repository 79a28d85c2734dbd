from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerank_fix.cli import main

FAST = ["--retriever", "bm25", "--relative-margin", "none", "--no-plot"]


def _corpus(folder: Path) -> None:
    docs = [("d1", "Vitamin D", "Vitamin D supplements and fracture risk in older women."),
            ("d2", "Statins", "Statin therapy and muscle pain in a large cohort."),
            ("d3", "Coffee", "Coffee raises blood pressure for a few hours."),
            ("d4", "Aspirin", "Daily aspirin and the risk of a first heart attack."),
            ("d5", "Sleep", "Evening exercise and sleep quality.")]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for doc_id, title, text in docs:
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")


def _beir(folder: Path, qrels: dict[str, str]) -> Path:
    _corpus(folder)
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as f:
        f.write(json.dumps({"_id": "q1", "text": "vitamin d fractures"}) + "\n")
        f.write(json.dumps({"_id": "q2", "text": "coffee blood pressure"}) + "\n")
    (folder / "qrels").mkdir()
    for split, body in qrels.items():
        (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + body, encoding="utf-8")
    return folder


def test_mine_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["mine", "--data", "demo", "--split", "train", "--out", str(out), "--range", "2:30",
               "--negatives", "5", "--samples", "2", *FAST])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "demo/train" in printed and "emitted as negatives" in printed
    for name in ("triples.jsonl", "triplet.parquet", "n-tuple.parquet", "stats.json",
                 "dataset/triplet/dataset_info.json", "dataset/n-tuple/dataset_info.json"):
        assert (out / name).is_file(), name
    stats = json.loads((out / "stats.json").read_text())
    assert stats["settings"]["range_min"] == 2 and stats["settings"]["relative_margin"] is None
    assert stats["queries"]["emitted"] > 0


def test_config_file_with_flag_overrides(tmp_path):
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("negatives: 4\nsampling: random\nseed: 9\nrange_max: 20\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["mine", "--data", "demo", "--out", str(out), "--config", str(cfg), "--negatives", "6", *FAST]) == 0
    settings = json.loads((out / "stats.json").read_text())["settings"]
    got = (settings["negatives"], settings["sampling"], settings["seed"], settings["range_max"])
    assert got == (6, "random", 9, 20)


def test_no_train_split_is_a_clear_error(tmp_path, capsys):
    data = _beir(tmp_path / "set", {"test": "q1\td1\t1\n"})
    rc = main(["mine", "--data", str(data), "--split", "train", "--out", str(tmp_path / "o"), *FAST])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no split 'train'" in err and "available splits: test" in err and "Traceback" not in err


def test_qrels_without_positives_is_a_clear_error(tmp_path, capsys):
    data = _beir(tmp_path / "set", {"train": "q1\td1\t0\nq2\td3\t0\n"})
    rc = main(["mine", "--data", str(data), "--split", "train", "--out", str(tmp_path / "o"), *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and "no query has a relevant document" in err and "Traceback" not in err


def test_bad_window_is_a_clear_error(tmp_path, capsys):
    rc = main(["mine", "--data", "demo", "--out", str(tmp_path / "o"), "--range", "30:10", *FAST])
    assert rc == 2 and "window 30:10 is empty" in capsys.readouterr().err


def _own(tmp_path: Path, rows: list[dict]) -> Path:
    _corpus(tmp_path)
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_own_triples_file_matches_positive_texts(tmp_path):
    # Positives given as text (differently formatted) or as ids; old negatives are ignored.
    path = _own(tmp_path, [
        {"query": "vitamin d and the risk for bones",
         "pos": ["VITAMIN D\nVitamin D supplements and fracture risk in older women"],
         "neg": ["whatever"]},
        {"query_id": "c", "query": "coffee, blood pressure and heart risk", "pos_ids": ["d3"]},
    ])
    out = tmp_path / "out"
    assert main(["mine", "--data", str(path), "--out", str(out), "--range", "0:4", "--negatives", "2", *FAST]) == 0
    rows = [json.loads(line) for line in (out / "triples.jsonl").read_text().splitlines()]
    by_query = {r["query"]: r for r in rows}
    vitamin, coffee = by_query["vitamin d and the risk for bones"], by_query["coffee, blood pressure and heart risk"]
    assert vitamin["pos_ids"] == ["d1"] and vitamin["neg_ids"] and "d1" not in vitamin["neg_ids"]
    assert coffee["query_id"] == "c" and coffee["pos_ids"] == ["d3"] and "d3" not in coffee["neg_ids"]


@pytest.mark.parametrize("row, message", [
    ({"query": "q", "pos": ["A passage that is nowhere in the corpus."]},
     r"train.jsonl:2: positive 1 of query '\w+' \(\"A passage that is nowhere in the corpus.\"\) is not in the corpus"),
    ({"query": "q", "pos_ids": ["d9"]}, r"train.jsonl:2: positive 1 of query '\w+', id 'd9', is not in the corpus"),
    ({"query": "q"}, r"train.jsonl:2: missing field 'pos'"),
])
def test_own_triples_with_a_missing_positive_names_it(tmp_path, capsys, row, message):
    path = _own(tmp_path, [{"query": "coffee", "pos_ids": ["d3"]}, row])
    rc = main(["mine", "--data", str(path), "--out", str(tmp_path / "o"), *FAST])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 2
    import re

    assert re.search(message, err), err


def test_nothing_mined_still_writes_valid_outputs_and_says_so(tmp_path, capsys):
    path = _own(tmp_path, [{"query": "sleep", "pos_ids": ["d5"]}])  # no other document shares a word
    out = tmp_path / "out"
    rc = main(["mine", "--data", str(path), "--out", str(out), "--range", "0:4", "--negatives", "2", *FAST])
    assert rc == 2 and "no negatives could be mined" in capsys.readouterr().err
    from datasets import load_from_disk

    assert load_from_disk(str(out / "dataset" / "triplet")).column_names == ["anchor", "positive", "negative"]
    assert json.loads((out / "stats.json").read_text())["queries"]["with_no_negatives"] == 1


def test_pairs_file_with_unknown_document_is_reported(tmp_path, capsys):
    _corpus(tmp_path)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"query": "coffee", "doc_id": "d404"}) + "\n", encoding="utf-8")
    rc = main(["mine", "--data", str(pairs), "--out", str(tmp_path / "o"), *FAST])
    err = capsys.readouterr().err
    assert rc == 2 and "d404" in err and "not in the corpus" in err
