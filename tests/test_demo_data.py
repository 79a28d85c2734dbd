"""The bundled demo eval set (rerank_fix/data/demo): schema, counts, splits, strata, hard-negative pairs.

The files are read with plain ``json`` so these checks do not depend on the loader; the loader is
exercised separately at the end.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import edit_distance as _edit_distance

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "rerank_fix" / "data" / "demo"
SPLITS = ("test", "train", "dev")
SEGMENTS = {"docs-site", "admin-tool"}
CLASSES = {"billing", "api", "security", "incidents", "account", "integrations"}
# The pairs the issue asks for by name: (pair id, side a, side b, a detail only side a states, same for b).
REQUIRED_PAIRS = [
    ("pricing", "eu", "us", "€", "$"),
    ("contacts-api", "v1", "v2", "api_key query parameter", "Authorization header"),
    ("postmortem-webhooks", "q3", "q4", "Q3 2024", "Q4 2024"),
    ("refund", "monthly", "annual", "within 14 days", "within 30 days"),
    ("sso-plan", "business", "enterprise", "paid add-on", "included at no extra cost"),
]


def _jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            assert line.strip(), f"{path.name}:{line_no} is blank"
            rows.append(json.loads(line))
    return rows


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict]:
    rows = _jsonl(DEMO / "corpus.jsonl")
    ids = [r["_id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate document ids"
    return {r["_id"]: r for r in rows}


@pytest.fixture(scope="module")
def queries() -> dict[str, dict]:
    rows = _jsonl(DEMO / "queries.jsonl")
    ids = [r["_id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate query ids"
    return {r["_id"]: r for r in rows}


@pytest.fixture(scope="module")
def qrels() -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for split in SPLITS:
        lines = (DEMO / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").split("\n")
        assert lines[0] == "query-id\tcorpus-id\tscore", f"{split}.tsv header is {lines[0]!r}"
        assert lines[-1] == "", f"{split}.tsv does not end with a newline"
        judged: dict[str, dict[str, int]] = {}
        for line_no, line in enumerate(lines[1:-1], 2):
            fields = line.split("\t")
            assert len(fields) == 3, f"{split}.tsv:{line_no}: {line!r}"
            qid, doc_id, score = fields
            assert doc_id not in judged.get(qid, {}), f"{split}.tsv:{line_no}: duplicate judgement"
            judged.setdefault(qid, {})[doc_id] = int(score)
        out[split] = judged
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9€$]+", text.lower())


# ------------------------------------------------------------------------------------------- files


def test_files_present_and_small():
    names = ["corpus.jsonl", "queries.jsonl", "README.md"] + [f"qrels/{s}.tsv" for s in SPLITS]
    for name in names:
        assert (DEMO / name).is_file(), f"missing {name}"
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 1.5 * 1024 * 1024, f"demo set is {total} bytes; keep it under 1.5 MB"


def test_generator_is_deterministic_and_files_are_fresh(tmp_path):
    # A different hash seed must not change anything: the generator may not depend on set/dict hashing.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    script = REPO / "scripts" / "build_demo_data.py"
    check = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr
    out = tmp_path / "demo"
    build = subprocess.run([sys.executable, str(script), "--out", str(out)], capture_output=True, text=True,
                           env=env)
    assert build.returncode == 0, build.stderr
    for name in ["corpus.jsonl", "queries.jsonl"] + [f"qrels/{s}.tsv" for s in SPLITS]:
        assert (out / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_generator_check_detects_stale_files(tmp_path):
    script = REPO / "scripts" / "build_demo_data.py"
    out = tmp_path / "demo"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, capture_output=True)
    with (out / "queries.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"_id": "extra", "text": "hand edit", "metadata": {}}\n')
    check = subprocess.run([sys.executable, str(script), "--check", "--out", str(out)], capture_output=True,
                           text=True)
    assert check.returncode == 1
    assert "queries.jsonl" in check.stderr


def test_readme_states_licence_and_current_counts(corpus, queries, qrels):
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "Apache-2.0" in text
    assert f"{len(corpus)} documents" in text
    assert f"{len(queries)} queries" in text
    for split in SPLITS:
        assert f"{len(qrels[split])} {split}" in text, f"README count for {split} is stale"


# ------------------------------------------------------------------------------------------ schema


def test_corpus_schema_and_size(corpus):
    assert len(corpus) >= 300
    for doc_id, doc in corpus.items():
        assert set(doc) == {"_id", "title", "text", "metadata"}, doc_id
        assert isinstance(doc["title"], str) and doc["title"].strip(), doc_id
        assert isinstance(doc["text"], str) and len(doc["text"].split()) >= 20, doc_id
        meta = doc["metadata"]
        assert meta["class"] in CLASSES, doc_id
        assert meta["doc_type"] and meta["topic"], doc_id
    # Every base topic has all five kinds of page.
    by_topic = Counter(d["metadata"]["topic"] for d in corpus.values()
                       if d["metadata"]["doc_type"] in {"guide", "troubleshooting", "admin-command", "about",
                                                        "release-note"})
    assert by_topic and set(by_topic.values()) == {5}


def test_documents_are_varied_not_copies(corpus):
    texts = [d["text"] for d in corpus.values()]
    assert len(set(texts)) == len(texts), "two documents have identical text"
    # Pages of one kind must not share a fixed opening: the templates vary their intros.
    openings = Counter(d["text"].split(".")[0].split(" ")[0] for d in corpus.values()
                       if d["metadata"]["doc_type"] == "guide")
    assert len(openings) >= 4


def test_queries_schema(queries):
    assert len(queries) >= 480
    texts = [q["text"] for q in queries.values()]
    assert len(set(texts)) == len(texts), "query texts must be distinct"
    for qid, q in queries.items():
        assert set(q) == {"_id", "text", "metadata"}, qid
        meta = q["metadata"]
        assert meta["segment"] in SEGMENTS, qid
        assert meta["class"] in CLASSES, qid
        assert isinstance(meta["typo"], bool), qid
        if meta["typo"]:
            assert meta["clean_text"] != q["text"], qid
        else:
            assert "clean_text" not in meta, qid


def test_every_class_is_present_in_test(queries, qrels):
    seen = Counter(queries[qid]["metadata"]["class"] for qid in qrels["test"])
    assert set(seen) == CLASSES
    assert min(seen.values()) >= 20, seen


# ------------------------------------------------------------------------------------ qrels/splits


def test_qrels_point_to_existing_queries_and_documents(corpus, queries, qrels):
    for split, judged in qrels.items():
        for qid, docs in judged.items():
            assert qid in queries, f"{split}: unknown query {qid}"
            for doc_id, score in docs.items():
                assert doc_id in corpus, f"{split}: {qid} judges unknown document {doc_id}"
                assert score in (1, 2), f"{split}: {qid} {doc_id} has grade {score}"
            assert 2 in docs.values(), f"{split}: {qid} has no grade-2 document"


def test_splits_are_disjoint_cover_all_queries_and_have_target_sizes(queries, qrels):
    seen: dict[str, str] = {}
    for split, judged in qrels.items():
        for qid in judged:
            assert qid not in seen, f"{qid} is in both {seen[qid]} and {split}"
            seen[qid] = split
            assert queries[qid]["metadata"]["split"] == split
    assert set(seen) == set(queries), "every query belongs to exactly one split"
    assert len(qrels["test"]) >= 200
    assert len(qrels["train"]) >= 180
    assert len(qrels["dev"]) >= 60


def test_graded_judgements_favour_the_target_page(corpus, queries, qrels):
    for judged in qrels.values():
        for qid, docs in judged.items():
            intent = queries[qid]["metadata"]["intent"]
            best = [d for d, s in docs.items() if s == 2]
            assert len(best) == 1, qid
            if intent != "pair":
                assert corpus[best[0]]["metadata"]["doc_type"] == intent, qid
            assert all(corpus[d]["metadata"]["topic"] == queries[qid]["metadata"]["topic"] for d in docs), qid


# ------------------------------------------------------------------------------------- strata


def test_segments_present_with_sensible_proportions(queries, qrels):
    for name, ids in [("all", list(queries)), ("test", list(qrels["test"]))]:
        counts = Counter(queries[q]["metadata"]["segment"] for q in ids)
        assert set(counts) == SEGMENTS, name
        for seg in SEGMENTS:
            assert 0.3 <= counts[seg] / len(ids) <= 0.7, (name, counts)


def test_admin_queries_are_short_and_docs_queries_are_questions(queries):
    lengths: dict[str, list[int]] = {s: [] for s in SEGMENTS}
    for q in queries.values():
        lengths[q["metadata"]["segment"]].append(len(q["text"].split()))
    mean = {s: sum(v) / len(v) for s, v in lengths.items()}
    assert mean["admin-tool"] <= 4 < 8 <= mean["docs-site"], mean
    assert max(lengths["admin-tool"]) <= 6


def test_typo_share_and_where_typos_are(queries, qrels):
    typo = [q for q in queries.values() if q["metadata"]["typo"]]
    share = len(typo) / len(queries)
    assert 0.12 <= share <= 0.25, share
    by_segment = Counter(q["metadata"]["segment"] for q in typo)
    assert by_segment["admin-tool"] > 2 * by_segment["docs-site"] > 0, by_segment
    for split, judged in qrels.items():
        split_share = sum(queries[q]["metadata"]["typo"] for q in judged) / len(judged)
        assert 0.12 <= split_share <= 0.25, (split, split_share)


def test_typos_are_small_realistic_edits(queries):
    for q in queries.values():
        if not q["metadata"]["typo"]:
            continue
        clean, noisy = q["metadata"]["clean_text"], q["text"]
        changed = [(a, b) for a, b in zip(clean.split(" "), noisy.split(" ")) if a != b]
        assert len(clean.split(" ")) == len(noisy.split(" ")), q["_id"]
        assert 1 <= len(changed) <= 2, q["_id"]
        for a, b in changed:
            assert a[0] == b[0], f"{q['_id']}: first letter changed in {a!r} -> {b!r}"
            assert 1 <= _edit_distance(a.lower(), b.lower()) <= 4, (q["_id"], a, b)


# ----------------------------------------------------------------------------- hard negatives


def test_required_hard_negative_pairs_differ_in_the_crucial_detail(corpus):
    for pair, side_a, side_b, detail_a, detail_b in REQUIRED_PAIRS:
        a, b = corpus[f"{pair}-{side_a}"], corpus[f"{pair}-{side_b}"]
        assert a["metadata"]["near_duplicate_of"] == b["_id"]
        assert b["metadata"]["near_duplicate_of"] == a["_id"]
        text_a, text_b = a["title"] + " " + a["text"], b["title"] + " " + b["text"]
        assert detail_a in text_a and detail_a not in text_b, (pair, detail_a)
        assert detail_b in text_b and detail_b not in text_a, (pair, detail_b)


def test_every_pair_is_a_near_duplicate(corpus):
    pairs: dict[str, list[dict]] = {}
    for doc in corpus.values():
        if "pair" in doc["metadata"]:
            pairs.setdefault(doc["metadata"]["pair"], []).append(doc)
    assert len(pairs) >= 12
    words = {d: set(_words(doc["title"] + " " + doc["text"])) for d, doc in corpus.items()}

    def jaccard(x: str, y: str) -> float:
        return len(words[x] & words[y]) / len(words[x] | words[y])

    for pair, docs in pairs.items():
        assert len(docs) == 2, pair
        a, b = (d["_id"] for d in docs)
        assert 0.4 <= jaccard(a, b) < 1.0, (pair, jaccard(a, b))
        # The twin (or, for postmortems, another page written in the same shape) is the closest page.
        for doc_id in (a, b):
            nearest = max((d for d in corpus if d != doc_id), key=lambda d: jaccard(doc_id, d))
            assert corpus[nearest]["metadata"]["topic"] == pair, (doc_id, nearest)


def test_pair_queries_target_one_side_only(corpus, queries, qrels):
    sides_in_test: Counter[str] = Counter()
    for split, judged in qrels.items():
        for qid, docs in judged.items():
            meta = queries[qid]["metadata"]
            if meta["intent"] != "pair":
                continue
            target = f"{meta['pair']}-{meta['variant']}"
            assert docs == {target: 2}, qid
            assert corpus[meta["hard_negative"]]["metadata"]["near_duplicate_of"] == target
            if split == "test":
                sides_in_test[target] += 1
    assert len(sides_in_test) >= 24, "most pair sides should have at least one test query"
    for pair, side_a, side_b, _, _ in REQUIRED_PAIRS:
        assert sides_in_test[f"{pair}-{side_a}"] and sides_in_test[f"{pair}-{side_b}"], pair


def test_bm25_finds_it_neither_trivial_nor_hopeless(corpus, queries, qrels):
    """Real BM25 over the test split: the twin of a pair is a real confuser and there is headroom."""
    import math

    from rank_bm25 import BM25Okapi

    ids = list(corpus)
    bm25 = BM25Okapi([_words(corpus[d]["title"] + " " + corpus[d]["text"]) for d in ids], k1=0.9, b=0.4)
    ndcg, twin_in_top10, pair_queries, hit5, hit50 = [], 0, 0, 0, 0
    for qid, docs in qrels["test"].items():
        scores = bm25.get_scores(_words(queries[qid]["text"]))
        ranked = [ids[i] for i in sorted(range(len(ids)), key=lambda i: -scores[i])]
        dcg = sum((2 ** docs.get(d, 0) - 1) / math.log2(r + 2) for r, d in enumerate(ranked[:10]))
        ideal = sum((2 ** g - 1) / math.log2(r + 2) for r, g in enumerate(sorted(docs.values(), reverse=True)[:10]))
        ndcg.append(dcg / ideal)
        target = next(d for d, s in docs.items() if s == 2)
        hit5 += target in ranked[:5]
        hit50 += target in ranked[:50]
        meta = queries[qid]["metadata"]
        if meta["intent"] == "pair":
            pair_queries += 1
            twin_in_top10 += meta["hard_negative"] in ranked[:10]
    mean_ndcg = sum(ndcg) / len(ndcg)
    assert 0.4 <= mean_ndcg <= 0.9, mean_ndcg
    assert hit50 - hit5 >= 0.1 * len(ndcg), (hit5, hit50)
    # Lexical overlap puts the twin next to the target even when the query names the detail.
    assert twin_in_top10 >= 0.5 * pair_queries, (twin_in_top10, pair_queries)


# ------------------------------------------------------------------------------------- loader


def test_loads_through_load_eval_set(corpus, queries, qrels):
    data = pytest.importorskip("rerank_fix.data")
    if not hasattr(data, "load_eval_set"):
        pytest.skip("rerank_fix.data.load_eval_set is not available")
    for split in SPLITS:
        ds = data.load_eval_set("demo", split=split)
        assert set(ds.corpus) == set(corpus)
        assert set(ds.queries) == set(qrels[split])
        assert ds.qrels == qrels[split]
        for qid, q in ds.queries.items():
            assert q.text == queries[qid]["text"]
            assert q.metadata["segment"] == queries[qid]["metadata"]["segment"]
            assert q.metadata["typo"] == queries[qid]["metadata"]["typo"]
        doc = ds.corpus["refund-monthly"]
        assert "14 days" in doc.full_text and doc.metadata["pair"] == "refund"
