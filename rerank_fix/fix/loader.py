"""Loading a fix bundle back and applying it: route each query, run its stratum's pipeline.

``load_bundle(path).run(eval_set)`` applies exactly what ``bundle.yaml`` and ``policy.json`` say (tuned
values fixed), so on the evaluated queries it reproduces ``per_query.tsv``; ``rerank_fix.load`` can
delegate here for full pipelines, while ``serving.json`` covers the second stage alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from rerank_fix.core.types import Document, EvalSet, Query
from rerank_fix.errors import ConfigError
from rerank_fix.pipeline.routing import ALL, RoutingPolicy, build_stratifier
from rerank_fix.core.run import Run


@dataclass
class BundleRun:
    """A bundle applied to queries: the final run and which pipeline each query went to.

    Example:
        >>> BundleRun(Run("r", {}), {"q1": "rrf"}).queries_per_pipeline()
        {'rrf': 1}
    """

    run: Run
    choices: dict[str, str]

    def queries_per_pipeline(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.choices.values():
            counts[c] = counts.get(c, 0) + 1
        return counts


class Bundle:
    """A bundle written by ``rerank-fix fix``.

    Args:
        path: The bundle folder.

    Example:
        >>> bundle = load_bundle("runs/demo/fix")                 # doctest: +SKIP
        >>> applied = bundle.run(load_eval_set("demo", "test"))   # doctest: +SKIP
        >>> applied.queries_per_pipeline()                        # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        import yaml

        from rerank_fix.fix.bundle import BUNDLE_FORMAT, MARKER

        self.path = Path(path)
        marker = self.path / MARKER
        if not marker.is_file():
            raise ConfigError(f"{self.path}: not a fix bundle (no {MARKER}); write one with rerank-fix fix")
        try:
            self.config: dict[str, Any] = yaml.safe_load(marker.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{marker}: not valid YAML ({exc})") from None
        if self.config.get("format") != BUNDLE_FORMAT:
            raise ConfigError(f"{marker}: format {self.config.get('format')!r} is not {BUNDLE_FORMAT!r}")
        self.policy = RoutingPolicy.load(self.path / "policy.json")
        missing = [p for p in {self.policy.fallback, *self.policy.choices.values()} if p not in self.config["pipelines"]]
        if missing:
            raise ConfigError(f"{marker}: the policy routes to {', '.join(missing)}, which bundle.yaml does not define")
        serving = self.path / "serving.json"
        self.serving = json.loads(serving.read_text(encoding="utf-8")) if serving.is_file() else None

    @property
    def verdict(self) -> str:
        return str(self.config.get("verdict", ""))

    def pipelines(self) -> dict[str, Any]:
        """``name -> PipelineSpec`` of every pipeline the policy may use."""
        from rerank_fix.pipeline.recipe import PipelineSpec

        return {name: PipelineSpec.model_validate({"name": name, "stages": p["stages"]})
                for name, p in self.config["pipelines"].items()}

    def model_paths(self) -> dict[str, str]:
        out = {}
        for name, ref in (self.config.get("rerankers") or {}).items():
            out[name] = str(self.path / ref["path"]) if "path" in ref else str(ref["model"])
        return out

    def stratifier(self, corpus: Mapping[str, Document] | None = None) -> Any:
        """The stratifier the policy routes on (typo: rebuilt from the bundled vocabulary)."""
        if self.policy.dimension == ALL:
            return None
        config = self.config.get("stratifier") or self.policy.stratifier
        if config.get("type") == "typo" and config.get("vocabulary_file"):
            from rerank_fix.evaluate.strata import TypoStratifier

            return TypoStratifier.from_vocabulary_file(
                self.path / config["vocabulary_file"], min_share=config["min_share"], max_edits=config["max_edits"],
                min_term_frequency=config["min_term_frequency"], min_word_length=config["min_word_length"])
        return build_stratifier(config, corpus)

    def route(self, queries: Mapping[str, Query], corpus: Mapping[str, Document] | None = None) -> dict[str, str]:
        """``query_id -> pipeline name``."""
        return self.policy.route(queries, corpus, self.stratifier(corpus))

    def run(self, data: EvalSet | Mapping[str, Query], corpus: Mapping[str, Document] | None = None,
            show_progress: bool = False, workspace: Any = None) -> BundleRun:
        """Route every query and run its pipeline over ``corpus``.

        Args:
            data: An :class:`EvalSet` (its queries and corpus), or ``query_id -> Query`` with ``corpus``.
            corpus: The documents (when ``data`` is a mapping of queries).
            show_progress: Progress bars.
            workspace: A :class:`~rerank_fix.pipeline.workspace.Workspace` to share (default: a new one).
        """
        from rerank_fix.pipeline.pipeline import Pipeline
        from rerank_fix.pipeline.workspace import Workspace

        if isinstance(data, EvalSet):
            queries, corpus = data.queries, data.corpus
        else:
            queries = dict(data)
        if corpus is None:
            raise ConfigError("Bundle.run: pass the corpus (or an EvalSet) to retrieve from")
        choices = self.route(queries, corpus)
        workspace = workspace or Workspace(corpus, show_progress=show_progress)
        specs = self.pipelines()
        paths = self.model_paths()
        results: dict[str, list[tuple[str, float]]] = {}
        for name in dict.fromkeys(choices.values()):
            subset = {q: queries[q] for q, c in choices.items() if c == name}
            out = Pipeline(specs[name], workspace, paths).run(subset)
            for q in subset:
                results[q] = list(out.run.results.get(q, []))
        return BundleRun(Run("bundle", results), choices)


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle written by ``rerank-fix fix`` (see :class:`Bundle`)."""
    return Bundle(path)
