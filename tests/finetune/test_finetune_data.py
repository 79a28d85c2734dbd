"""Triples input, group drawing and the batch order: formats, bad input, determinism across epochs."""
from __future__ import annotations

import json
import random

import pytest

from rerank_fix.errors import DataError
from rerank_fix.finetune.data import (GroupSampler, Triple, build_train_dataset, normalise_query, prepare_triples,
                                      read_triples)
from rerank_fix.finetune.sampling import EpochSeededBatchSampler


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reads_flagembedding_jsonl_with_extra_keys(tmp_path, triples):
    rows = read_triples(triples)
    assert len(rows) == 36
    first = rows[0]
    assert first.query_id == "q-password-0" and len(first.pos) == 1 and len(first.neg) == 6
    assert first.source.endswith("triples.jsonl:1")


def test_reads_a_saved_datasets_folder(tmp_path):
    from datasets import Dataset, DatasetDict

    ds = Dataset.from_dict({"query": ["q1", "q2"], "pos": [["p1"], ["p2"]], "neg": [["n1", "n2"], ["n3"]],
                            "metadata": ["a", "b"]})
    ds.save_to_disk(str(tmp_path / "plain"))
    DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "dict"))
    for folder in ("plain", "dict"):
        rows = read_triples(tmp_path / folder)
        assert [r.query for r in rows] == ["q1", "q2"] and rows[1].neg == ("n3",)
    DatasetDict({"validation": ds}).save_to_disk(str(tmp_path / "nodict"))
    with pytest.raises(DataError, match="'train' split"):
        read_triples(tmp_path / "nodict")


@pytest.mark.parametrize("row, message", [
    ({"pos": ["p"], "neg": ["n"]}, "field 'query' must be a non-empty string"),
    ({"query": "q", "neg": ["n"]}, "missing field 'pos'"),
    ({"query": "q", "pos": [], "neg": ["n"]}, "'pos' is empty"),
    ({"query": "q", "pos": ["p"], "neg": "n"}, None),  # a single string is accepted as a one-item list
    ({"query": "q", "pos": ["p"], "neg": [3]}, r"neg\[0\] must be a string"),
    ('{"query": "q", "pos": ["p"]', "malformed JSON"),
])
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    path = _write(tmp_path / "t.jsonl", [{"query": "ok", "pos": ["p"], "neg": ["n"]}, row])
    if message is None:
        assert read_triples(path)[1].neg == ("n",)
        return
    with pytest.raises(DataError, match=message) as err:
        read_triples(path)
    assert f"{path}:2" in str(err.value)


def test_missing_triples_file(tmp_path):
    with pytest.raises(DataError, match="triples file not found"):
        read_triples(tmp_path / "absent.jsonl")


def _triples(negs=(3, 5, 8)):
    return [Triple(f"query {i}", (f"pos {i}",), tuple(f"neg {i}.{j}" for j in range(n)), f"q{i}", f"f:{i + 1}")
            for i, n in enumerate(negs)]


def test_group_larger_than_available_negatives_is_a_clear_error():
    with pytest.raises(DataError) as err:
        prepare_triples(_triples(), group_size=6, source="t.jsonl")
    message = str(err.value)
    assert "t.jsonl" in message and "data.group_size=6 needs 5 negatives" in message
    assert "1 of 3 queries" in message and "f:1 has 3" in message and "too_few_negatives" in message


def test_too_few_negatives_drop_or_repeat():
    dropped = prepare_triples(_triples(), group_size=6, too_few_negatives="drop")
    assert [t.query_id for t in dropped.triples] == ["q1", "q2"] and dropped.stats["dropped_too_few_negatives"] == 1
    repeated = prepare_triples(_triples(), group_size=6, too_few_negatives="repeat")
    assert len(repeated.triples) == 3 and repeated.stats["repeated_negatives"] == 1
    sampler = GroupSampler(group_size=6, seed=0)
    _, docs, labels = sampler.draw("q", ("p",), ("a", "b", "c"), row=0)
    assert len(docs) == 6 and set(docs[1:]) == {"a", "b", "c"} and labels == [1, 0, 0, 0, 0, 0]


def test_dev_and_test_queries_are_kept_out_of_training():
    rows = _triples((4, 4, 4)) + [Triple("query 0 ", ("p",), ("a", "b", "c"), "q0#typo1", "f:9")]
    kept = prepare_triples(rows, group_size=4, exclude_ids={"q0"}, exclude_texts={normalise_query("Query 2")})
    # q0 and its typo copy go by id, q2 by (normalised) text.
    assert [t.query_id for t in kept.triples] == ["q1"] and kept.stats["dropped_dev_queries"] == 3
    many = _triples((4,) * 40)
    # A query text shared with the test split (collections repeat a few) is dropped ...
    clean = prepare_triples(many, group_size=4, forbidden_texts={normalise_query("QUERY 1")}, forbidden_ids={"q7"})
    assert {"q1", "q7"}.isdisjoint(t.query_id for t in clean.triples) and clean.stats["dropped_test_queries"] == 2
    assert clean.stats["read"] == 40 and len(clean.triples) == 38
    # ... but triples that are largely test queries were mined from the wrong split.
    with pytest.raises(DataError, match="3 of 4 training queries are queries of the held-out test split"):
        prepare_triples(rows, group_size=4, forbidden_ids={"q0", "q1"})


def test_subset_is_seeded():
    rows = _triples((4,) * 20)
    a = prepare_triples(rows, group_size=3, max_triples=5, seed=1).triples
    b = prepare_triples(rows, group_size=3, max_triples=5, seed=1).triples
    c = prepare_triples(rows, group_size=3, max_triples=5, seed=2).triples
    assert a == b and a != c and len(a) == 5
    assert prepare_triples(rows, group_size=3, max_triples=5, shuffle_subset=False).triples == rows[:5]


def test_groups_are_keyed_by_seed_epoch_and_row():
    neg = tuple(f"n{i}" for i in range(30))
    sampler = GroupSampler(group_size=8, seed=3)
    first = sampler.draw("q", ("p1", "p2"), neg, row=5, epoch=0)
    assert first == sampler.draw("q", ("p1", "p2"), neg, row=5, epoch=0)
    assert first != sampler.draw("q", ("p1", "p2"), neg, row=5, epoch=1)
    assert first != GroupSampler(group_size=8, seed=4).draw("q", ("p1", "p2"), neg, row=5, epoch=0)
    query, docs, labels = first
    assert query == "q" and docs[0] in ("p1", "p2") and len(set(docs[1:])) == 7 and labels == [1] + [0] * 7


def test_typo_augmentation_uses_the_miners_typo_model():
    from rerank_fix.core.typos import make_typo

    sampler = GroupSampler(group_size=2, seed=0, typo_fn=make_typo, typo_probability=1.0, typo_rate=0.2)
    noisy = {sampler.draw("treatment of breast cancer patients", ("p",), ("n",), row=r)[0] for r in range(5)}
    assert "treatment of breast cancer patients" not in noisy and len(noisy) > 1
    clean = GroupSampler(group_size=2, seed=0, typo_fn=make_typo, typo_probability=0.0)
    assert clean.draw("treatment of breast cancer", ("p",), ("n",), row=0)[0] == "treatment of breast cancer"


def test_train_dataset_rows_are_groups_of_the_current_epoch():
    rows = _triples((5, 5))
    sampler = GroupSampler(group_size=3, seed=0)
    ds = build_train_dataset(rows, sampler)
    epoch0 = ds[1]
    assert list(epoch0) == ["query", "docs", "labels"] and epoch0["docs"][0] == "pos 1"
    sampler.epoch = 1
    epoch1 = ds[1]
    for epoch, row in ((0, epoch0), (1, epoch1)):
        query, docs, labels = sampler.draw(rows[1].query, rows[1].pos, rows[1].neg, row=1, epoch=epoch)
        assert row == {"query": query, "docs": docs, "labels": labels}
    assert epoch1["docs"] != epoch0["docs"]


def test_batch_order_depends_only_on_seed_and_epoch():
    sampler = GroupSampler(group_size=2, seed=0)
    batches = EpochSeededBatchSampler(list(range(10)), batch_size=3, drop_last=False, seed=5, group_sampler=sampler)
    epoch0 = list(batches)
    assert sorted(i for b in epoch0 for i in b) == list(range(10)) and len(epoch0) == len(batches) == 4
    batches.set_epoch(1)
    assert sampler.epoch == 1
    epoch1 = list(batches)
    assert epoch1 != epoch0
    # A fresh sampler (a resumed process) told epoch 1 replays epoch 1 exactly.
    fresh = EpochSeededBatchSampler(list(range(10)), batch_size=3, drop_last=False, seed=5,
                                    group_sampler=GroupSampler(2, 0))
    fresh.set_epoch(1)
    assert list(fresh) == epoch1
    dropping = EpochSeededBatchSampler(list(range(10)), batch_size=3, drop_last=True, seed=5, group_sampler=sampler)
    assert len(list(dropping)) == len(dropping) == 3


def test_random_module_state_does_not_affect_groups():
    sampler = GroupSampler(group_size=4, seed=1)
    random.seed(0)
    a = sampler.draw("q", ("p",), tuple("abcdefg"), row=2)
    random.seed(99)
    assert sampler.draw("q", ("p",), tuple("abcdefg"), row=2) == a
