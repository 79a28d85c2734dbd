from __future__ import annotations

import json

import numpy as np
import pytest

from rerank_fix.core.types import EvalSet
from rerank_fix.mine.config import MineConfig
from rerank_fix.mine.miner import HardNegativeMiner
from rerank_fix.mine.teacher import TeacherScorer, teacher_rejects, to_probability


def test_probability_rule_is_sign_safe():
    # Positive at logit -2, candidate at -1.95: the teacher prefers the candidate, so it must go, although
    # a rule on raw logits (-1.95 >= 0.95 * -2 = -1.9 is false) would keep it.
    pos, cand = np.array([-2.0]), np.array([-1.95])
    assert not (cand >= 0.95 * pos)[0]
    assert teacher_rejects(to_probability(cand), to_probability(pos), 0.95)[0]
    # A clearly worse candidate is kept, whatever the signs.
    for p, c in [(3.0, -1.0), (-1.0, -4.0), (0.5, -0.5)]:
        assert not teacher_rejects(to_probability(np.array([c])), to_probability(np.array([p])), 0.95)[0]
    assert teacher_rejects(0.9, 0.9, 0.95) and not teacher_rejects(0.5, 0.9, 0.95)


def test_two_label_heads_use_the_relevant_class_probability():
    logits = np.array([[2.0, -1.0], [-1.0, 3.0]])
    expected = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    assert np.allclose(to_probability(logits), expected)
    assert np.allclose(to_probability(logits[:, 1] - logits[:, 0]), expected)


@pytest.fixture(scope="module")
def fresh_cross_encoder():
    import torch

    from rerank_fix.models import load_cross_encoder

    torch.manual_seed(0)
    return load_cross_encoder(None, num_labels=1, max_length=64)


def test_scorer_returns_raw_logits_whatever_the_models_activation(fresh_cross_encoder):
    import torch

    pairs = [("vitamin d fractures", "Vitamin D and bone health in older adults."),
             ("coffee", "Caffeine raises blood pressure for a few hours.")]
    raw = fresh_cross_encoder.predict(pairs, activation_fn=torch.nn.Identity())
    scorer = TeacherScorer(fresh_cross_encoder, batch_size=4)
    logits, probs = scorer.probabilities(pairs)
    assert np.allclose(logits, raw, atol=1e-5)
    assert np.allclose(probs, 1 / (1 + np.exp(-raw)), atol=1e-5)
    assert scorer.scored_pairs == 2


def test_a_saved_two_label_teacher_keeps_its_head(tmp_path):
    from sentence_transformers import CrossEncoder

    from rerank_fix.models import default_bi_encoder_path

    CrossEncoder(default_bi_encoder_path(), num_labels=2, max_length=64).save(str(tmp_path / "two"))
    scorer = TeacherScorer(str(tmp_path / "two"), max_length=64)
    raw = scorer.logits([("a query", "a document"), ("b", "c")])
    assert raw.shape == (2, 2)
    logits, probs = scorer.probabilities([("a query", "a document")])
    assert np.allclose(probs, to_probability(raw[:1]))


def test_miner_applies_the_teacher_rule_to_the_right_pairs(demo_train, fresh_cross_encoder, tmp_path):
    """The lazily batched teacher pass picks exactly what scoring every candidate would."""
    import torch

    qids = list(demo_train.queries)[:8]
    data = demo_train.subset(qids)
    base = dict(retriever="bm25", range_min=0, range_max=12, negatives=3, relative_margin=None)
    # Every candidate in the window, in rank order (bm25, and no cheap check fires on the demo).
    everything = HardNegativeMiner(MineConfig(**{**base, "negatives": 12}), show_progress=False).mine(data)
    assert everything.stats["candidates"]["dropped_total"] == 0

    pairs = [(rec.query, demo_train.corpus[d].full_text)
             for rec in everything.records for d in rec.pos_ids + rec.neg_ids]
    logits = fresh_cross_encoder.predict(pairs, activation_fn=torch.nn.Identity(), batch_size=64)
    probs = iter((1 / (1 + np.exp(-logits))).tolist())
    ratios, per_query = [], {}
    for rec in everything.records:
        pos_prob = min(next(probs) for _ in rec.pos_ids)
        cands = [(d, next(probs)) for d in rec.neg_ids]
        per_query[rec.query_id] = (pos_prob, cands)
        ratios.extend(p / pos_prob for _, p in cands)
    # A cut halfway between two neighbouring ratios near the median: it rejects some candidates, keeps
    # others, and no candidate sits on it (so float noise between batch sizes cannot flip one).
    ordered = sorted(ratios)
    mid = len(ordered) // 2
    fraction = float(min(1.0, (ordered[mid - 1] + ordered[mid]) / 2))

    result = HardNegativeMiner(MineConfig(**base, teacher_fraction=fraction), teacher=fresh_cross_encoder,
                               show_progress=False).mine(data)
    got = {r.query_id: r.neg_ids for r in result.records}
    for qid, (pos_prob, cands) in per_query.items():
        keep = [d for d, p in cands if p < fraction * pos_prob]
        assert got.get(qid, []) == keep[:3], qid
    c = result.stats["candidates"]
    assert c["dropped"]["teacher"] > 0 and c["emitted"] > 0
    assert c["teacher_scored"] < c["negative_candidates"]  # lazy: not every candidate was scored
    assert result.stats["teacher"]["pairs_scored"] == c["teacher_scored"] + result.stats["positives"]["count"]

    paths = result.write(str(tmp_path / "out"), plot=False)
    rows = [json.loads(line) for line in open(paths["flag_jsonl"], encoding="utf-8")]
    rec = result.records[0]
    assert rows[0]["neg_scores"] == pytest.approx(rec.neg_teacher) and len(rows[0]["pos_scores"]) == len(rec.pos_ids)


def test_teacher_is_ignored_when_the_filter_is_off(demo_train, fresh_cross_encoder):
    data = demo_train.subset(list(demo_train.queries)[:3])
    cfg = MineConfig(retriever="bm25", range_min=0, range_max=10, negatives=3, false_negative_filter=False)
    result = HardNegativeMiner(cfg, teacher=fresh_cross_encoder, show_progress=False).mine(data)
    assert result.stats["teacher"] is None and result.records[0].neg_teacher is None


def test_eval_set_untouched(demo_train, fresh_cross_encoder):
    before = {q: dict(j) for q, j in demo_train.qrels.items()}
    data = EvalSet("copy", demo_train.corpus, dict(demo_train.queries), {q: dict(j) for q, j in before.items()})
    HardNegativeMiner(MineConfig(retriever="bm25", range_max=10, negatives=3, relative_margin=None,
                                 typo_rate=0.1), show_progress=False).mine(data)
    assert data.qrels == before and data.queries == demo_train.queries
