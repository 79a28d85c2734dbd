"""Per-stratum routing: send each query to the pipeline that the evidence supports for its stratum.

A policy is derived from a comparison ("rerank only the strata where the reranker significantly helps;
elsewhere keep stage-one order"), evaluated honestly (chosen on training folds, scored on the held-out
fold), and saved as a small JSON file holding the stratifier's config and the per-stratum choice, which
:meth:`RoutingPolicy.route` applies to new queries.

The policy is conservative by construction: the fallback (first option, normally the baseline) is kept
in a stratum unless another option beats it there with a Holm-adjusted paired test on the training
queries. Routing therefore cannot make a stratum significantly worse than the fallback unless the
training folds were misleading about it.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from rerank_fix.core.types import Document, Query
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.stats import holm, paired_test

ALL = "all"
POLICY_VERSION = 1
#: Dimensions that describe how an evaluation was assembled, not something known about a live query.
NOT_AT_QUERY_TIME = frozenset({"query_set"})


# ------------------------------------------------------------------ stratifier config <-> object
def stratifier_config(stratifier: Any) -> dict[str, Any]:
    """A JSON-able description of a stratifier, enough to rebuild it at query time (its ``to_config``).

    Raises:
        ConfigError: for stratifiers that cannot be rebuilt from a config (route on another dimension).
    """
    to_config = getattr(stratifier, "to_config", None)
    if to_config is None:
        raise ConfigError(f"cannot save a routing policy on dimension {getattr(stratifier, 'dimension', '?')!r}: "
                          f"{type(stratifier).__name__} has no config form; route on length, typo or a metadata field")
    return to_config()


def build_stratifier(config: Mapping[str, Any], corpus: Mapping[str, Document] | None = None) -> Any:
    """Rebuild a stratifier from :func:`stratifier_config` output through the stratifier registry
    (``typo`` needs the corpus); ``{"type": "all"}`` is no stratifier."""
    from rerank_fix.evaluate.strata import STRATIFIERS
    from rerank_fix.evaluate.strata import build_stratifier as build

    kind = config.get("type")
    if kind == ALL:
        return None
    if kind not in STRATIFIERS:
        raise ConfigError(f"unknown stratifier type {kind!r} in routing policy; expected "
                          f"{', '.join(STRATIFIERS.names())} or all")
    return build(config, corpus)


# ------------------------------------------------------------------------------------- the policy
@dataclass
class StratumEvidence:
    """Why a stratum routes where it does: each option's paired delta against the fallback on training queries.

    Args:
        stratum: The stratum label.
        n: Training queries in it.
        choice: The pipeline it routes to.
        deltas / p_values / p_holm: Per option: mean paired delta, raw and Holm-adjusted p-value.

    Example:
        >>> StratumEvidence("clean", 40, "dense").as_dict()["choice"]
        'dense'
    """

    stratum: str
    n: int
    choice: str
    deltas: dict[str, float] = field(default_factory=dict)
    p_values: dict[str, float] = field(default_factory=dict)
    p_holm: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"stratum": self.stratum, "n": self.n, "choice": self.choice, "delta": self.deltas,
                "p_value": self.p_values, "p_holm": self.p_holm}


@dataclass
class RoutingPolicy:
    """Which pipeline each stratum of one dimension goes to.

    Args:
        dimension: The stratifier dimension routed on (``all``: one choice for every query).
        stratifier: Config to rebuild the stratifier (see :func:`stratifier_config`).
        choices: ``stratum label -> pipeline name``; unseen labels go to ``fallback``.
        fallback: The pipeline used wherever the evidence does not support another.
        options: Every pipeline the policy may choose.
        metric: The metric the choice was based on.
        alpha: Significance level used.
        evidence: Per-stratum training evidence.
        n_train: Training queries the policy was fitted on.
        train_gain: Mean metric gain over the fallback on those training queries (in-sample: optimistic).

    Example:
        >>> policy = RoutingPolicy("length", {"type": "length", "upper_bounds": [4, 9]},
        ...                        {"len ≤4": "dense+rerank"}, "dense", ["dense", "dense+rerank"])
        >>> policy.route({"q": Query("q", "short query")})
        {'q': 'dense+rerank'}
    """

    dimension: str
    stratifier: dict[str, Any]
    choices: dict[str, str]
    fallback: str
    options: list[str]
    metric: str = "ndcg@10"
    alpha: float = 0.05
    evidence: list[StratumEvidence] = field(default_factory=list)
    n_train: int = 0
    train_gain: float = 0.0

    def choice_for(self, label: str) -> str:
        return self.choices.get(label, self.fallback)

    def labels(self, queries: Mapping[str, Query], corpus: Mapping[str, Document] | None = None,
               stratifier: Any = None) -> dict[str, str]:
        """The stratum label of every query (``all`` when the policy does not stratify)."""
        if self.dimension == ALL:
            return {qid: ALL for qid in queries}
        stratifier = stratifier if stratifier is not None else build_stratifier(self.stratifier, corpus)
        return stratifier.assign(queries)

    def route(self, queries: Mapping[str, Query], corpus: Mapping[str, Document] | None = None,
              stratifier: Any = None) -> dict[str, str]:
        """``query_id -> pipeline name`` for new queries.

        Args:
            queries: The queries to route.
            corpus: Needed by typo policies (to rebuild the vocabulary).
            stratifier: An already built stratifier (saves rebuilding it per call).
        """
        return {qid: self.choice_for(label) for qid, label in self.labels(queries, corpus, stratifier).items()}

    @property
    def switched(self) -> dict[str, str]:
        """The strata that do not use the fallback."""
        return {s: c for s, c in self.choices.items() if c != self.fallback}

    def describe(self) -> str:
        """One line: ``length: len ≤4 -> dense+rerank; else dense``."""
        if not self.switched:
            return f"always {self.fallback} (no stratum had significant evidence for another option)"
        if self.dimension == ALL:
            return f"always {next(iter(self.switched.values()))}"
        parts = "; ".join(f"{s} -> {c}" for s, c in sorted(self.switched.items()))
        return f"{self.dimension}: {parts}; else {self.fallback}"

    def as_dict(self) -> dict[str, Any]:
        return {"version": POLICY_VERSION, "dimension": self.dimension, "stratifier": self.stratifier,
                "choices": self.choices, "fallback": self.fallback, "options": self.options,
                "metric": self.metric, "alpha": self.alpha, "n_train": self.n_train,
                "train_gain": self.train_gain, "evidence": [e.as_dict() for e in self.evidence]}

    def save(self, path: str | Path) -> Path:
        from rerank_fix.core.jsonio import write_json

        return write_json(path, self.as_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "routing policy") -> "RoutingPolicy":
        missing = [k for k in ("dimension", "stratifier", "choices", "fallback", "options") if k not in data]
        if missing:
            raise ConfigError(f"{source}: not a routing policy (missing {', '.join(missing)})")
        if data.get("version", POLICY_VERSION) != POLICY_VERSION:
            raise ConfigError(f"{source}: policy version {data.get('version')} is not supported "
                              f"(this rerank_fix reads version {POLICY_VERSION})")
        unknown = sorted(set(data["choices"].values()) - set(data["options"]))
        if unknown or data["fallback"] not in data["options"]:
            raise ConfigError(f"{source}: choices/fallback name pipelines that are not in options "
                              f"({', '.join(unknown or [data['fallback']])})")
        evidence = [StratumEvidence(e["stratum"], e["n"], e["choice"], e.get("delta", {}), e.get("p_value", {}),
                                    e.get("p_holm", {})) for e in data.get("evidence", [])]
        return cls(data["dimension"], dict(data["stratifier"]), dict(data["choices"]), data["fallback"],
                   list(data["options"]), data.get("metric", "ndcg@10"), data.get("alpha", 0.05), evidence,
                   data.get("n_train", 0), data.get("train_gain", 0.0))

    @classmethod
    def load(cls, path: str | Path) -> "RoutingPolicy":
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: routing policy file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text — give the policy JSON written by rerank-fix compare") from None
        try:
            return cls.from_dict(data, str(path))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{path}: not a routing policy ({type(exc).__name__}: {str(exc)[:80]}) — give a "
                              "routing/*.policy.json written by rerank-fix compare") from None


# ------------------------------------------------------------------------------------------ fitting
def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def fit_policy(scores: Mapping[str, Mapping[str, float]], labels_by_dimension: Mapping[str, Mapping[str, str]],
               stratifier_configs: Mapping[str, dict[str, Any]], train_ids: Sequence[str], options: Sequence[str],
               metric: str = "ndcg@10", alpha: float = 0.05, min_stratum_size: int = 10,
               n_resamples: int = 4000, seed: int = 0) -> RoutingPolicy:
    """Choose a routing policy from training queries only.

    For every candidate dimension (``all`` plus ``labels_by_dimension``), each stratum keeps the fallback
    (``options[0]``) unless another option's paired improvement there is significant after Holm's
    correction over all (stratum, option) tests of that dimension; then the option with the largest
    significant gain is chosen. The dimension whose policy gains most on the training queries wins
    (ties: no stratification).

    Args:
        scores: ``pipeline -> query_id -> metric value`` for every option.
        labels_by_dimension: ``dimension -> query_id -> stratum``.
        stratifier_configs: ``dimension -> stratifier config`` (saved in the policy).
        train_ids: The queries the policy may look at.
        options: Pipelines to choose from; the first is the fallback.
        metric: Name recorded in the policy.
        alpha: Significance level for the Holm-adjusted p-values.
        min_stratum_size: Strata with fewer training queries always keep the fallback.

    Example:
        >>> scores = {"a": {f"q{i}": 0.5 for i in range(40)},
        ...           "b": {f"q{i}": (0.9 if i < 20 else 0.4) for i in range(40)}}
        >>> labels = {"len": {f"q{i}": ("short" if i < 20 else "long") for i in range(40)}}
        >>> p = fit_policy(scores, labels, {"len": {"type": "metadata", "field": "len"}}, list(scores["a"]), ["a", "b"])
        >>> p.dimension, p.choices
        ('len', {'long': 'a', 'short': 'b'})
    """
    fallback = options[0]
    train = [q for q in train_ids if all(q in scores[o] for o in options)]
    candidates: list[tuple[str, dict[str, str]]] = [(ALL, {q: ALL for q in train})]
    candidates += [(dim, {q: labels[q] for q in train if q in labels}) for dim, labels in labels_by_dimension.items()]
    best: RoutingPolicy | None = None
    for dim, labels in candidates:
        strata = sorted(set(labels.values()))
        tests: list[tuple[str, str, float, float]] = []  # (stratum, option, mean delta, p)
        members = {s: [q for q in train if labels.get(q) == s] for s in strata}
        for s in strata:
            qids = members[s]
            if len(qids) < min_stratum_size:
                continue
            base = [scores[fallback][q] for q in qids]
            for option in options[1:]:
                other = [scores[option][q] for q in qids]
                delta = _mean([a - b for a, b in zip(other, base)])
                tests.append((s, option, delta, paired_test(other, base, n_resamples=n_resamples, seed=seed)))
        adjusted = holm([t[3] for t in tests])
        evidence: dict[str, StratumEvidence] = {
            s: StratumEvidence(s, len(members[s]), fallback) for s in strata}
        choices: dict[str, str] = {}
        for (s, option, delta, p), p_adj in zip(tests, adjusted):
            ev = evidence[s]
            ev.deltas[option], ev.p_values[option], ev.p_holm[option] = delta, p, p_adj
            if p_adj < alpha and delta > 0 and delta > ev.deltas.get(ev.choice, 0.0):
                ev.choice = option
        for s, ev in evidence.items():
            choices[s] = ev.choice
        gain = _mean([scores[choices.get(labels.get(q, ""), fallback)][q] - scores[fallback][q] for q in train])
        policy = RoutingPolicy(dim, {"type": ALL} if dim == ALL else dict(stratifier_configs[dim]), choices,
                               fallback, list(options), metric, alpha, list(evidence.values()), len(train), gain)
        if best is None or gain > best.train_gain + 1e-12:
            best = policy
    assert best is not None
    return best


@dataclass
class RoutedOutcome:
    """The honest evaluation of routing: per-query choices from fold policies, plus the deployable policy.

    Args:
        choices: ``query_id -> pipeline`` chosen by the policy fitted without that query's fold.
        fold_policies: The policy of each fold.
        deploy: The policy fitted on every query: what to apply to new queries.

    Example:
        >>> p = RoutingPolicy("all", {"type": "all"}, {}, "dense", ["dense", "rerank"])
        >>> RoutedOutcome({"q1": "dense"}, [p], p).as_dict()["queries_per_choice"]
        {'dense': 1}
    """

    choices: dict[str, str]
    fold_policies: list[RoutingPolicy]
    deploy: RoutingPolicy
    route_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for c in self.choices.values():
            counts[c] = counts.get(c, 0) + 1
        return {"queries_per_choice": counts,
                "folds": [{"fold": i, "n_train": p.n_train, "dimension": p.dimension, "policy": p.describe(),
                           "train_gain": p.train_gain} for i, p in enumerate(self.fold_policies)],
                "deploy": self.deploy.as_dict()}


def cross_validated_routing(scores: Mapping[str, Mapping[str, float]],
                            labels_by_dimension: Mapping[str, Mapping[str, str]],
                            stratifier_configs: Mapping[str, dict[str, Any]], folds: Sequence[Sequence[str]],
                            options: Sequence[str], metric: str, alpha: float, min_stratum_size: int,
                            seed: int = 0) -> RoutedOutcome:
    """Fit a policy on all folds but one, apply it to the held-out fold, for every fold.

    The held-out queries' labels come from the same stratifier the policy saves, so what is scored is
    exactly what :meth:`RoutingPolicy.route` would do for those queries at query time.
    """
    all_ids = [q for fold in folds for q in fold]
    choices: dict[str, str] = {}
    fold_policies = []
    for fold in folds:
        held = set(fold)
        policy = fit_policy(scores, labels_by_dimension, stratifier_configs, [q for q in all_ids if q not in held],
                            options, metric, alpha, min_stratum_size, seed=seed)
        fold_policies.append(policy)
        labels = labels_by_dimension.get(policy.dimension, {})
        for q in fold:
            choices[q] = policy.choice_for(labels.get(q, ALL) if policy.dimension != ALL else ALL)
    deploy = fit_policy(scores, labels_by_dimension, stratifier_configs, all_ids, options, metric, alpha,
                        min_stratum_size, seed=seed)
    return RoutedOutcome(choices, fold_policies, deploy)


def time_routing(policy: RoutingPolicy, queries: Mapping[str, Query], stratifier: Any) -> dict[str, float]:
    """Milliseconds to route each query on its own (what routing adds to a live query)."""
    out = {}
    for qid, q in queries.items():
        start = time.perf_counter()
        policy.route({qid: q}, stratifier=stratifier)
        out[qid] = (time.perf_counter() - start) * 1000
    return out
