"""Encoding and I/O: bad bytes, byte-order marks, folders where files belong, link loops, unreadable and
damaged files. Each names the file (and line and byte offset where there is one) and says what to do."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile_helpers import CORPUS, QRELS, QUERIES, assert_user_error, cli, jsonl, snapshot, write_set

LATIN1_DOC = ('{"_id": "d9", "text": "caf' + "\xe9" + ' au lait"}\n').encode("latin-1")


def diagnose(capsys, data: Path, *extra):
    return cli(capsys, "diagnose", "--data", data, "--retriever", "bm25", "--out", data.parent / "out", *extra)


def _offset_of_e9(raw: bytes) -> int:
    return raw.index(b"\xe9")


CASES = {
    "latin1_corpus": (dict(raw_corpus=jsonl(CORPUS).encode() + LATIN1_DOC),
                      r"corpus\.jsonl:4: byte 0xe9 at byte offset \d+ is not valid UTF-8 \(it looks like latin-1"),
    "latin1_queries": (dict(raw_queries=('{"_id": "q1", "text": "r\xe9sum\xe9"}\n').encode("latin-1")),
                       r"queries\.jsonl:1: byte 0xe9 at byte offset 24 is not valid UTF-8"),
    "latin1_qrels": (dict(qrels=(QRELS + "q\xe9\td1\t1\n").encode("latin-1")), r"test\.tsv:5: byte 0xe9"),
    "utf16_corpus": (dict(raw_corpus=jsonl(CORPUS).encode("utf-16")), r"corpus\.jsonl:1: the file is UTF-16"),
    "utf16_qrels": (dict(qrels=QRELS.encode("utf-16")), r"test\.tsv:1: the file is UTF-16"),
    "binary_corpus": (dict(raw_corpus=b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256))),
                      r"corpus\.jsonl:1: byte 0xff at byte offset 0 is not valid UTF-8"),
    "nul_in_corpus": (dict(raw_corpus=b'{"_id": "d1", "text": "x"}\n\x00\x00\x00\n'), r"corpus\.jsonl:2: malformed JSON"),
    "truncated_corpus": (dict(raw_corpus=jsonl(CORPUS)[:-20]), r"corpus\.jsonl:3: malformed JSON"),
    "deep_json": (dict(raw_corpus='{"_id": "d1", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
                  r"corpus\.jsonl:1: the JSON is nested too deeply"),
    "empty_corpus": (dict(raw_corpus=""), r"corpus\.jsonl: the corpus is empty"),
    "array_line": (dict(raw_corpus='[{"_id": "d1"}]\n'), r"corpus\.jsonl:1: expected a JSON object, got list"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bytes_and_damaged_files(case, tmp_path, capsys):
    kwargs, pattern = CASES[case]
    data = write_set(tmp_path / "data", **kwargs)
    before = snapshot(data)
    assert_user_error(diagnose(capsys, data), pattern)
    assert snapshot(data) == before
    assert not (tmp_path / "out" / "report.md").exists()


def test_latin1_offset_is_the_byte_offset_in_the_file(tmp_path, capsys):
    raw = jsonl(CORPUS).encode() + LATIN1_DOC
    data = write_set(tmp_path / "data", raw_corpus=raw)
    match = assert_user_error(diagnose(capsys, data), r"byte offset")
    assert f"byte offset {_offset_of_e9(raw)} " in match.group(0)


@pytest.mark.parametrize("which", ["queries", "qrels", "corpus"])
def test_a_utf8_bom_is_accepted(which, tmp_path, capsys):
    kwargs = {"queries": dict(raw_queries=b"\xef\xbb\xbf" + jsonl(QUERIES).encode()),
              "qrels": dict(qrels=b"\xef\xbb\xbf" + QRELS.encode()),
              "corpus": dict(raw_corpus=b"\xef\xbb\xbf" + jsonl(CORPUS).encode())}[which]
    data = write_set(tmp_path / "data", **kwargs)
    result = diagnose(capsys, data)
    assert result.code == 0, result.err


def test_crlf_line_endings_are_accepted(tmp_path, capsys):
    data = write_set(tmp_path / "data", qrels=QRELS.replace("\n", "\r\n"),
                     raw_queries=jsonl(QUERIES).replace("\n", "\r\n"))
    assert diagnose(capsys, data).code == 0


def test_corpus_that_is_a_folder(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (data / "corpus.jsonl").unlink()
    (data / "corpus.jsonl").mkdir()
    assert_user_error(diagnose(capsys, data), r"corpus\.jsonl: expected a corpus file, found a folder")


def test_qrels_that_is_a_folder(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (data / "qrels" / "test.tsv").unlink()
    (data / "qrels" / "test.tsv").mkdir()
    assert_user_error(diagnose(capsys, data), r"test\.tsv: expected a qrels file, found a folder")


def test_queries_option_that_is_a_folder(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (tmp_path / "qdir").mkdir()
    assert_user_error(diagnose(capsys, data, "--queries", tmp_path / "qdir"), r"qdir: the queries file is a folder")


def test_labels_file_that_is_a_folder(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (tmp_path / "labels").mkdir()
    assert_user_error(diagnose(capsys, data, "--labels", tmp_path / "labels"), r"labels: .*folder")


def test_labels_file_in_latin1(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    labels = tmp_path / "labels.tsv"
    labels.write_bytes("q1\tl\xe9gal\n".encode("latin-1"))
    assert_user_error(diagnose(capsys, data, "--labels", labels), r"labels\.tsv:1: byte 0xe9")


@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl"])
def test_symlink_loop(name, tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (data / name).unlink()
    (data / name).symlink_to(data / name)
    assert_user_error(diagnose(capsys, data), rf"{name}: the .* is a symbolic link that points to itself")


def test_data_source_that_is_a_symlink_loop(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    result = cli(capsys, "diagnose", "--data", loop, "--retriever", "bm25", "--out", tmp_path / "out")
    assert_user_error(result, r"loop: the data source is a symbolic link that points to itself")


def test_broken_symlink_corpus(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (data / "corpus.jsonl").unlink()
    (data / "corpus.jsonl").symlink_to(tmp_path / "gone.jsonl")
    assert_user_error(diagnose(capsys, data), r"corpus\.jsonl: the corpus file is a broken symbolic link")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode; chmod cannot deny it")
def test_unreadable_corpus(tmp_path, capsys):
    data = write_set(tmp_path / "data")
    (data / "corpus.jsonl").chmod(0)
    try:
        assert_user_error(diagnose(capsys, data), r"corpus\.jsonl: permission denied reading the corpus file")
    finally:
        (data / "corpus.jsonl").chmod(0o644)


def test_unreadable_file_is_reported_even_as_root(tmp_path, capsys):
    """As root chmod cannot deny a read; a FIFO with no writer cannot be read either, and is not a file."""
    data = write_set(tmp_path / "data")
    (data / "queries.jsonl").unlink()
    os.mkfifo(data / "queries.jsonl")
    assert_user_error(diagnose(capsys, data), r"queries\.jsonl: the queries file is not a regular file")


# --- saved Hugging Face datasets -------------------------------------------------------------------------------

@pytest.fixture
def saved_dataset(tmp_path) -> Path:
    datasets = pytest.importorskip("datasets")
    bundle = datasets.DatasetDict({
        "corpus": datasets.Dataset.from_list(CORPUS),
        "queries": datasets.Dataset.from_list(QUERIES),
        "test": datasets.Dataset.from_list([{"query-id": "q1", "corpus-id": "d1", "score": 1}]),
    })
    bundle.save_to_disk(str(tmp_path / "hf"))
    return tmp_path / "hf"


def test_corrupt_dataset_dict_json(saved_dataset, capsys):
    (saved_dataset / "dataset_dict.json").write_text("{not json")
    assert_user_error(diagnose(capsys, saved_dataset), r"hf: the saved dataset cannot be read .*save it again")


def test_truncated_arrow_file(saved_dataset, capsys):
    arrow = next((saved_dataset / "corpus").glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[:40])
    assert_user_error(diagnose(capsys, saved_dataset), r"hf: the saved dataset cannot be read")


def test_dataset_with_a_part_deleted(saved_dataset, capsys):
    import shutil

    shutil.rmtree(saved_dataset / "queries")
    assert_user_error(diagnose(capsys, saved_dataset), r"hf: the saved dataset cannot be read")


def test_dataset_state_json_garbage(saved_dataset, capsys):
    (saved_dataset / "corpus" / "state.json").write_text("[]")
    assert_user_error(diagnose(capsys, saved_dataset), r"hf: ")
