"""Values: grades that are not whole finite numbers, text fields that are not strings, metadata of the wrong
shape, lone surrogates; the pairs and saved-dataset loaders validate like the BEIR loader."""
from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import CORPUS, QRELS, QUERIES, assert_user_error, cli, jsonl, snapshot, write_set


def diagnose(capsys, data: Path, *extra, retriever: str = "bm25"):
    return cli(capsys, "diagnose", "--data", data, "--retriever", retriever, "--out", data.parent / "out", *extra)


GRADES = {
    "inf": r"relevance score 'inf' is not a finite number",
    "-inf": r"relevance score '-inf' is not a finite number",
    "nan": r"relevance score 'nan' is not a finite number",
    "1e400": r"relevance score '1e400' is not a finite number",
    "0.5": r"relevance score '0.5' is not a whole number — grades are integers",
    "2.7": r"relevance score '2.7' is not a whole number",
    "1e12": r"relevance score '1e12' is out of range",
    "high": r"relevance score 'high' is not a number",
    "0x1": r"relevance score '0x1' is not a number",
}


@pytest.mark.parametrize("grade", sorted(GRADES))
def test_grades_that_are_not_whole_finite_numbers(grade, tmp_path, capsys):
    data = write_set(tmp_path / "data", qrels=QRELS + f"q1\td2\t{grade}\n")
    assert_user_error(diagnose(capsys, data), r"test\.tsv:5: " + GRADES[grade])


def test_whole_number_written_as_float_is_accepted(tmp_path):
    from rerank_fix.data import load_eval_set

    data = write_set(tmp_path / "data", qrels=QRELS.replace("q2\td2\t1", "q2\td2\t2.0"))
    assert load_eval_set(data).qrels["q2"] == {"d2": 2}


FIELDS = {
    "text_list": (dict(corpus=[{"_id": "d1", "text": ["a", "b"]}]), r"corpus\.jsonl:1: field 'text' must be a string, got a list"),
    "text_dict": (dict(corpus=[{"_id": "d1", "text": {"en": "x"}}]), r"field 'text' must be a string, got an object"),
    "text_bool": (dict(corpus=[{"_id": "d1", "text": True}]), r"field 'text' must be a string, got a boolean"),
    "title_dict": (dict(corpus=[{"_id": "d1", "title": {"a": 1}, "text": "x"}]), r"field 'title' must be a string"),
    "text_null": (dict(corpus=[{"_id": "d1", "text": None}]), r"corpus\.jsonl:1: document 'd1' has no 'text' field"),
    "query_text_list": (dict(queries=[{"_id": "q1", "text": ["refund"]}]), r"queries\.jsonl:1: field 'text' must be a string"),
    "query_text_dict": (dict(queries=[{"_id": "q1", "text": {"q": 1}}]), r"queries\.jsonl:1: field 'text' must be a string"),
    "metadata_list": (dict(queries=[{"_id": "q1", "text": "x", "metadata": ["a"]}]),
                      r"queries\.jsonl:1: field 'metadata' must be an object, got list"),
    "doc_metadata_str": (dict(corpus=[{"_id": "d1", "text": "x", "metadata": "a"}]), r"field 'metadata' must be an object"),
}


@pytest.mark.parametrize("case", sorted(FIELDS))
def test_fields_of_the_wrong_type(case, tmp_path, capsys):
    kwargs, pattern = FIELDS[case]
    data = write_set(tmp_path / "data", **kwargs)
    before = snapshot(data)
    assert_user_error(diagnose(capsys, data), pattern)
    assert snapshot(data) == before


def test_numbers_as_text_are_written_out(tmp_path):
    from rerank_fix.data import load_eval_set

    data = write_set(tmp_path / "data", corpus=[*CORPUS, {"_id": "d4", "title": 2024, "text": 42}])
    assert load_eval_set(data).corpus["d4"].full_text == "2024\n42"


def test_lone_surrogate_in_a_document_with_the_dense_retriever(tmp_path, capsys):
    doc = '{"_id": "d4", "title": "", "text": "broken \\ud800 escape"}\n'
    data = write_set(tmp_path / "data", raw_corpus=jsonl(CORPUS) + doc,
                     raw_queries=jsonl(QUERIES[:2]) + '{"_id": "q3", "text": "dark \\udfff mode"}\n')
    result = diagnose(capsys, data, retriever="dense")
    assert result.code == 0 and "Traceback" not in result.err, result.err
    logged = "".join((result.out + result.err).split())  # rich wraps log lines mid-word
    assert "unpairedsurrogate" in logged and "corpus.jsonl:4" in logged
    assert (tmp_path / "out" / "runs" / "dense.trec").is_file()


# --- pairs files ------------------------------------------------------------------------------------------------

PAIRS = {
    "csv_text_score": ("pairs.csv", "query,doc_id,score\nrefund annual,d1,high\n", r"pairs\.csv:2: relevance score 'high' is not a number"),
    "csv_fraction": ("pairs.csv", "query,doc_id,score\nrefund annual,d1,0.5\n", r"pairs\.csv:2: relevance score '0.5' is not a whole number"),
    "csv_inf": ("pairs.csv", "query,doc_id,score\nrefund annual,d1,1\nrotate,d2,inf\n", r"pairs\.csv:3: relevance score 'inf' is not a finite"),
    "csv_space_id": ("pairs.csv", "query,doc_id\nrefund annual,d 1\n", r"pairs\.csv:2: document id 'd 1' contains a space"),
    "csv_extra_field": ("pairs.csv", "query,doc_id\nrefund, annual,d1\n", r"pairs\.csv:2: more fields than the header has"),
    "csv_latin1": ("pairs.csv", "query,doc_id\nr\xe9sum\xe9,d1\n".encode("latin-1"), r"pairs\.csv:2: byte 0xe9"),
    "csv_missing_doc": ("pairs.csv", "query,segment\nrefund,a\n", r"pairs\.csv:2: missing field 'doc_id'"),
    "csv_bad_quote": ("pairs.csv", 'query,doc_id\n"refund,d1\n', r"pairs\.csv"),
    "jsonl_list_score": ("pairs.jsonl", '{"query": "refund", "doc_id": "d1", "score": [1]}\n', r"pairs\.jsonl:1: relevance score '\[1\]' is not a number"),
    "jsonl_query_list": ("pairs.jsonl", '{"query": ["refund"], "doc_id": "d1"}\n', r"pairs\.jsonl:1: field 'query' must be a string"),
    "jsonl_qid_tab": ("pairs.jsonl", '{"query": "refund", "doc_id": "d1", "query_id": "q\\t1"}\n', r"query id 'q\\t1' contains a tab"),
}


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_pairs_loader_validates_like_the_beir_loader(case, tmp_path, capsys):
    name, content, pattern = PAIRS[case]
    data = write_set(tmp_path / "data")
    path = data / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_user_error(cli(capsys, "diagnose", "--data", path, "--retriever", "bm25", "--out", tmp_path / "out"),
                      pattern)


# --- saved Hugging Face datasets --------------------------------------------------------------------------------

def _saved(tmp_path, corpus=CORPUS, queries=QUERIES, qrels=({"query-id": "q1", "corpus-id": "d1", "score": 1},)):
    datasets = pytest.importorskip("datasets")
    bundle = datasets.DatasetDict({
        "corpus": datasets.Dataset.from_list(list(corpus)),
        "queries": datasets.Dataset.from_list(list(queries)),
        "test": datasets.Dataset.from_list(list(qrels)),
    })
    bundle.save_to_disk(str(tmp_path / "hf"))
    return tmp_path / "hf"


HF = {
    "text_grade": (dict(qrels=[{"query-id": "q1", "corpus-id": "d1", "score": "high"}]),
                   r"hf: qrels row 0: relevance score 'high' is not a number"),
    "fraction_grade": (dict(qrels=[{"query-id": "q1", "corpus-id": "d1", "score": 0.5}]),
                       r"relevance score '0.5' is not a whole number"),
    "space_in_id": (dict(corpus=[{"_id": "d 1", "title": "", "text": "x"}, *CORPUS[1:]]),
                    r"hf: corpus row 0: document id 'd 1' contains a space"),
    "duplicate_doc": (dict(corpus=[*CORPUS, CORPUS[0]]), r"hf: corpus row 3: duplicate document id 'd1'"),
    "empty_query": (dict(queries=[{"_id": "q1", "text": " "}]), r"hf: queries row 0: query 'q1' has empty text"),
    "missing_qrels_id": (dict(qrels=[{"query-id": None, "corpus-id": "d1", "score": 1}]), r"hf: qrels row 0: no 'query-id'"),
}


@pytest.mark.parametrize("case", sorted(HF))
def test_saved_dataset_loader_validates_like_the_beir_loader(case, tmp_path, capsys):
    kwargs, pattern = HF[case]
    path = _saved(tmp_path, **kwargs)
    assert_user_error(cli(capsys, "diagnose", "--data", path, "--retriever", "bm25", "--out", tmp_path / "out"),
                      pattern)


# --- training triples given to `mine` -----------------------------------------------------------------------------

TRIPLES = {
    "latin1": ('{"query": "r\xe9sum\xe9", "pos_ids": ["d1"]}\n'.encode("latin-1"), r"train\.jsonl:1: byte 0xe9"),
    "query_id_space": ('{"query": "refund", "pos_ids": ["d1"], "query_id": "q 1"}\n', r"train\.jsonl:1: query id 'q 1' contains a space"),
    "surrogate": ('{"query": "refund \\udc00", "pos_ids": ["d1"]}\n', r"train\.jsonl:1: the query has an unpaired surrogate"),
    "pos_not_list": ('{"query": "refund", "pos": "Annual plans"}\n', r"train\.jsonl:1: field 'pos' must be a list"),
    "deep": ('{"query": "refund", "pos": ' + "[" * 50_000 + "]" * 50_000 + "}\n", r"train\.jsonl:1: the JSON is nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(TRIPLES))
def test_mining_input_triples(case, tmp_path, capsys):
    content, pattern = TRIPLES[case]
    data = write_set(tmp_path / "data")
    path = data / "train.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    if case in ("deep",):
        path.write_text('{"query": "refund", "pos_ids": ["d1"]}\n' + content)
        pattern = pattern.replace(":1:", ":2:")
    result = cli(capsys, "mine", "--data", path, "--retriever", "bm25", "--out", tmp_path / "out")
    assert_user_error(result, pattern)


def test_routing_policy_of_the_wrong_shape(tmp_path, capsys):
    policy = tmp_path / "policy.json"
    policy.write_text('{"dimension": ["not", "a", "policy"]}')
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "model" / "model.safetensors").write_bytes(b"")
    result = cli(capsys, "export", tmp_path / "model", tmp_path / "target", "--policy", policy)
    assert_user_error(result, r"policy\.json: not a routing policy")
    assert not (tmp_path / "target").exists()
