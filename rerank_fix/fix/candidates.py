"""The systems ``rerank-fix fix`` considers, generated from what is available, cheapest first.

A candidate is a pipeline in recipe syntax (so :func:`~rerank_fix.pipeline.runner.run_recipe` runs it,
sharing stage one between candidates) plus what selection needs to know about it: what it costs, what it
is built from, and whether it has a tuned part that nested cross-validation must re-tune per fold.

The order of :func:`generate_candidates` is the cost order used to break ties: the baseline first, then
other stage ones, plain RRF, CV-weighted RRF, spelling correction, and rerankers by depth (alone before
blended). Selection always prefers the earlier of two candidates the evidence cannot tell apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rerank_fix.errors import ConfigError

STAGE_ONE, FUSION, TUNED_FUSION, REWRITE, RERANK, BLEND = ("stage-one", "rrf", "weighted-rrf", "rewrite", "rerank",
                                                          "blend")
#: The spelling corrector fused with the original query: never worse than the original on clean queries
#: by much (the original run is kept), and the only rewrite that needs no model or network.
SPELL_REWRITE: dict[str, Any] = {"mode": "fuse", "config": {"backend": "spell"}}


@dataclass
class Candidate:
    """One system to evaluate and perhaps route to.

    Args:
        name: Unique pipeline name (``dense``, ``rrf``, ``dense+minilm-top20-blend`` ...).
        stages: Stages in recipe syntax (``[{"dense": {}}, {"rerank": {...}}]``).
        kind: ``stage-one``, ``rrf``, ``weighted-rrf``, ``rewrite``, ``rerank`` or ``blend``.
        description: One line for the report.
        base: For rerank / blend / rewrite: the stage-one candidate it builds on.
        components: For fusions: the stage-one candidates fused.
        reranker: Reranker name (rerank / blend).
        depth: Reranking depth (rerank / blend).
        alone: For a blend: the candidate with the same reranker and depth, unblended (its scores are reused).

    Example:
        >>> c = Candidate("rrf", [{"rrf": {"retrievers": ["dense", "bm25"]}}], FUSION)
        >>> c.uses_cross_encoder, c.tuned
        (False, False)
    """

    name: str
    stages: list[dict[str, Any]]
    kind: str
    description: str = ""
    base: str | None = None
    components: list[str] = field(default_factory=list)
    reranker: str | None = None
    depth: int | None = None
    alone: str | None = None

    @property
    def uses_cross_encoder(self) -> bool:
        return self.kind in (RERANK, BLEND)

    @property
    def tuned(self) -> bool:
        """Has values chosen on judged queries (re-tuned inside every outer fold of nested CV)."""
        return self.kind in (TUNED_FUSION, BLEND)

    def pipeline(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "stages": self.stages}


@dataclass
class Skipped:
    """A candidate family not generated, and why (the report lists these).

    Example:
        >>> Skipped("rerank dense", "no stratum has headroom").as_line()
        'rerank dense: no stratum has headroom'
    """

    what: str
    why: str

    def as_line(self) -> str:
        return f"{self.what}: {self.why}"


def stage_one_candidates(retrievers: Sequence[str], runs: Mapping[str, str], stage_kinds: Sequence[str]
                         ) -> list[Candidate]:
    """Each stage one: the built-in retrievers and, with ``--run NAME=FILE``, the user's own runs.

    Raises:
        ConfigError: a ``--run`` name clashes, or the run stage is not available in this version.
    """
    out = [Candidate(r, [{r: {}}], STAGE_ONE, description=f"{r} retrieval alone") for r in retrievers]
    for name, path in runs.items():
        if "run" not in stage_kinds:
            raise ConfigError(f"--run {name}={path}: this version of rerank_fix has no 'run' stage to read a "
                              "TREC run file; use the built-in retrievers (dense, bm25) or upgrade")
        if name in retrievers or name in runs and list(runs).count(name) > 1:
            raise ConfigError(f"--run {name}=...: the name {name!r} is already used; give each run its own name")
        out.append(Candidate(name, [{"run": {"path": str(path)}}], STAGE_ONE,
                             description=f"your run {path}"))
    return out


def fusion_candidates(stage_ones: Sequence[Candidate], fusable: Sequence[str]) -> list[Candidate]:
    """Plain RRF and CV-weighted RRF of every stage one that RRF can take (two or more of them)."""
    parts = [c for c in stage_ones if c.name in fusable]
    if len(parts) < 2:
        return []
    names = [c.name for c in parts]
    retrievers = [next(iter(c.stages[0])) for c in parts]
    return [
        Candidate("rrf", [{"rrf": {"retrievers": retrievers}}], FUSION, components=names,
                  description=f"reciprocal rank fusion of {' and '.join(names)} (k=60, equal weights)"),
        Candidate("weighted-rrf", [{"rrf": {"retrievers": retrievers, "weights": "tune", "k": "tune"}}], TUNED_FUSION,
                  components=names, description=f"RRF of {' and '.join(names)}, weights and k tuned by cross-validation"),
    ]


def rewrite_candidates(bases: Sequence[Candidate]) -> list[Candidate]:
    """Spelling correction (original and corrected query fused) in front of each base stage one."""
    out = []
    for base in bases:
        out.append(Candidate(f"spell+{base.name}", [{"rewrite": dict(SPELL_REWRITE)}, *base.stages], REWRITE,
                             base=base.name, description=f"spelling corrected against the corpus vocabulary, "
                                                         f"original and corrected {base.name} runs fused"))
    return out


def rerank_candidates(bases: Sequence[Candidate], rerankers: Sequence[str], depths: Sequence[int]) -> list[Candidate]:
    """Each reranker on each base at each depth, alone and blended with the stage-one score (tuned weight).

    Ordered by depth (the cross-encoder's cost), then base, then alone before blended.
    """
    out = []
    for depth in sorted(set(depths)):
        for base in bases:
            for model in rerankers:
                alone = f"{base.name}+{model}-top{depth}"
                out.append(Candidate(alone, [*base.stages, {"rerank": {"model": model, "depth": depth}}], RERANK,
                                     base=base.name, reranker=model, depth=depth,
                                     description=f"{model} reranks the top {depth} of {base.name}"))
                out.append(Candidate(f"{alone}-blend",
                                     [*base.stages, {"rerank": {"model": model, "depth": depth, "interpolate": "tune"}}],
                                     BLEND, base=base.name, reranker=model, depth=depth, alone=alone,
                                     description=f"{model} on the top {depth} of {base.name}, blended with the "
                                                 "stage-one score (weight tuned by cross-validation)"))
    return out


def usable_depths(depths: Sequence[int], stage_one_depth: int) -> list[int]:
    """The requested depths capped by what stage one returns (a depth beyond it reranks nothing more)."""
    capped = sorted({min(int(d), stage_one_depth) for d in depths if int(d) >= 1})
    if not capped:
        raise ConfigError(f"--depths: give at least one reranking depth >= 1 (got {list(depths)})")
    return capped


# ------------------------------------------------------------------------------------------- actions
def second_stage_action(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The serving.json action of a pipeline: keep, rerank or blend (the last rerank stage decides)."""
    rerank = [s for s in stages if s["stage"] == "rerank"]
    if not rerank:
        return {"action": "keep"}
    s = rerank[-1]
    if s.get("interpolate") is None:
        return {"action": "rerank", "reranker": s["model"], "depth": int(s["depth"])}
    return {"action": "blend", "reranker": s["model"], "depth": int(s["depth"]),
            "stage_one_weight": float(s["interpolate"])}


def stage_one_summary(stages: list[dict[str, Any]]) -> str:
    """What the user's engine must do before the reranking server: ``spell(fuse) + rrf(dense 1, bm25 0.3, k=60)``."""
    parts = []
    for s in stages:
        if s["stage"] == "rewrite":
            parts.append(f"spell-correct ({s['mode']})" if (s.get("config") or {}).get("backend", "spell") == "spell"
                         else f"rewrite ({s['mode']})")
        elif s["stage"] == "rrf":
            kinds = [r["stage"] for r in s["retrievers"]]
            weights = s.get("weights") or [1.0] * len(kinds)
            parts.append("rrf(" + ", ".join(f"{k} {w:g}" for k, w in zip(kinds, weights)) + f"; k={s['k']:g})")
        elif s["stage"] in ("dense", "bm25", "run"):
            parts.append(s["stage"])
    return " + ".join(parts)
