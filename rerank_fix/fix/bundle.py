"""Writing the fix bundle: what to deploy, in a form that runs, with its evidence.

Files (all written to a temporary folder beside the target, then moved into place in one rename):

- ``bundle.yaml``: the pipeline of each stratum with every stage's config (tuned values fixed), the
  stratifier, rerankers, guarantees, expected gain and library versions.
- ``policy.json``: the :class:`~rerank_fix.pipeline.routing.RoutingPolicy`.
- ``serving.json``: the second-stage action per stratum for ``rerank-fix serve`` (see SHARED_CONTRACTS).
- ``vocabulary.tsv``: the corpus vocabulary, when the policy routes on typos (the stratifier needs it live).
- ``rewrite.yaml``: the query-rewrite config, when a chosen pipeline rewrites.
- ``rerankers/<name>/``: each local reranker the recommendation uses, exported by ``rerank_fix.export``
  (hub ids are referenced, not copied).
- ``MODEL_CARD.md``, ``report.md``, ``report.html``, ``report.json``, ``plots/*.png``.
- ``per_query.tsv``: the recommended policy's per-query metrics on the evaluated queries (the round trip
  of :func:`rerank_fix.fix.load_bundle` reproduces them).
"""
from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from rerank_fix.core.version import versions
from rerank_fix.errors import ConfigError
from rerank_fix.fix.candidates import second_stage_action, stage_one_summary

if TYPE_CHECKING:
    from rerank_fix.fix.result import FixResult

logger = logging.getLogger("rerank_fix.fix")

BUNDLE_FORMAT = "rerank-fix-bundle/1"
SERVING_FORMAT = "rerank-fix-serving/1"
MARKER = "bundle.yaml"


def is_bundle(path: Path) -> bool:
    """True when ``path`` holds a bundle an earlier ``fix`` wrote (only those are ever replaced)."""
    marker = path / MARKER
    if not marker.is_file():
        return False
    try:
        import yaml

        data = yaml.safe_load(marker.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - anything unreadable is not ours
        return False
    return isinstance(data, dict) and data.get("format") == BUNDLE_FORMAT


def check_out_path(out: str | Path) -> Path:
    """Refuse an output path that would overwrite something ``fix`` did not write; called before any work."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {out}: is a file; give a folder for the bundle")
    if path.is_dir() and any(path.iterdir()) and not is_bundle(path):
        raise ConfigError(f"--out {out}: folder exists and is not a bundle written by rerank-fix fix; "
                          "choose a new or empty folder (nothing there is deleted)")
    parent = path.resolve().parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {out}: cannot create the parent folder ({exc.strerror})") from None
    probe = parent / f".{path.name}.probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write in {parent} ({exc.strerror})") from None
    return path


# ------------------------------------------------------------------------------------------- writing
def _export_rerankers(result: "FixResult", folder: Path, export: bool) -> dict[str, dict[str, str]]:
    used = {s["model"] for stages in result.concrete.values() for s in stages if s["stage"] == "rerank"}
    out: dict[str, dict[str, str]] = {}
    for name in sorted(used):
        path = result.models.get(name, {}).get("path", name)
        if export and Path(path).is_dir():
            from rerank_fix.export.exporter import export_model

            logger.info("exporting reranker %s into the bundle", name)
            export_model(path, folder / "rerankers" / name, name=name)
            out[name] = {"path": f"rerankers/{name}"}
        else:
            out[name] = {"model": str(path)}
    return out


def write_bundle(result: "FixResult", out: str | Path, plots: bool = True, export: bool = True) -> Path:
    """Write every bundle file for ``result`` into ``out`` atomically; returns ``out``."""
    import yaml

    from rerank_fix.fix.verdict import render_card, render_report, report_data, verdict_line
    from rerank_fix.pipeline.routing import ALL, stratifier_config
    from rerank_fix.report.html import markdown_to_html

    target = check_out_path(out)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        policy = result.recommended
        policy.save(tmp / "policy.json")
        stratifier = None
        if policy.dimension != ALL:
            stratifier = dict(stratifier_config(result.stratifier))
            if stratifier.get("type") == "typo":
                result.stratifier.save_vocabulary(tmp / "vocabulary.tsv")
                stratifier["vocabulary_file"] = "vocabulary.tsv"
        rerankers = _export_rerankers(result, tmp, export)
        actions = {name: second_stage_action(stages) for name, stages in result.concrete.items()}
        # Without a stratifier every query gets one action: the policy's choice for "all", no strata.
        default = policy.choice_for(ALL) if policy.dimension == ALL else policy.fallback
        strata = {} if policy.dimension == ALL else dict(sorted(policy.choices.items()))
        serving = {"format": SERVING_FORMAT, "stratifier": stratifier,
                   "default": actions[default],
                   "strata": {label: actions[choice] for label, choice in strata.items()},
                   "rerankers": rerankers}
        (tmp / "serving.json").write_text(json.dumps(serving, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        rewrite = next((s for stages in result.concrete.values() for s in stages if s["stage"] == "rewrite"), None)
        if rewrite is not None:
            (tmp / "rewrite.yaml").write_text(yaml.safe_dump({"mode": rewrite["mode"], **(rewrite.get("config") or {}),
                                                              "fuse_k": rewrite.get("fuse_k")}, sort_keys=False),
                                              encoding="utf-8")
        bundle = {
            "format": BUNDLE_FORMAT,
            "verdict": verdict_line(result),
            "data": {k: v for k, v in result.data.items() if v},
            "baseline": result.baseline,
            "stratifier": stratifier,
            "default": default,
            "strata": strata,
            "pipelines": {name: {"stage_one": stage_one_summary(stages), "second_stage": actions[name],
                                 "stages": stages,
                                 "description": result.candidate(name).description}
                          for name, stages in result.concrete.items()},
            "rerankers": rerankers,
            "rewrite": "rewrite.yaml" if rewrite is not None else None,
            "guarantees": {g.name: {"holds": g.holds, "detail": g.detail} for g in result.guarantees},
            "expected": {"metric": "ndcg@10", "gain": result.expected.mean, "ci": [result.expected.low,
                                                                                   result.expected.high],
                         "share_cross_encoder": result.share_cross_encoder,
                         "p95_ms": None if result.p95_ms != result.p95_ms else round(result.p95_ms, 2)},
            "versions": versions(),
        }
        (tmp / MARKER).write_text(yaml.safe_dump(bundle, sort_keys=False, allow_unicode=True), encoding="utf-8")
        metrics = list(result.deployed_per_query)
        lines = ["query_id\tpipeline\t" + "\t".join(metrics)]
        for q in result.deployed_run.results:
            choice = policy.choice_for(ALL if policy.dimension == ALL else
                                       result.comparison.evaluator.assignments.get(policy.dimension, {}).get(q, ALL))
            lines.append(f"{q}\t{choice}\t" + "\t".join(repr(result.deployed_per_query[m][q]) for m in metrics))
        (tmp / "per_query.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        result.deployed_run.to_trec(tmp / "runs" / "recommended.trec")
        result.nested.run.to_trec(tmp / "runs" / "routed-nested-cv.trec")
        files = {"plots": _write_plots(result, tmp / "plots") if plots else {}}
        (tmp / "MODEL_CARD.md").write_text(render_card(result), encoding="utf-8")
        md = render_report(result, files)
        (tmp / "report.md").write_text(md, encoding="utf-8")
        (tmp / "report.json").write_text(json.dumps(report_data(result), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        (tmp / "report.html").write_text(markdown_to_html(md, base_dir=tmp, title="rerank-fix fix"), encoding="utf-8")
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # our own temporary folder
        raise
    return target


def _move_into_place(tmp: Path, target: Path) -> None:
    """Replace ``target`` (absent, empty, or an earlier bundle) by ``tmp``; never mixes two runs' files."""
    old = None
    if target.exists():
        if any(target.iterdir()) and not is_bundle(target):  # re-checked: it may have changed during the run
            raise ConfigError(f"--out {target}: folder now holds files rerank-fix fix did not write; "
                              f"the bundle is left in {tmp}")
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old)  # an earlier bundle (checked above): files fix wrote


def _write_plots(result: "FixResult", folder: Path) -> dict[str, str]:
    from rerank_fix.report import compare_plots

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    comparison = result.comparison
    jobs = [("headline", lambda p: compare_plots.plot_headline(comparison, ["ndcg@10", "recall@5"], p)),
            ("delta_ndcg@10", lambda p: compare_plots.plot_delta_per_stratum(comparison, "ndcg@10", p)),
            ("recall", lambda p: compare_plots.plot_recall_curves(comparison, p))]
    for key, fn in jobs:
        name = key.replace("@", "_at_") + ".png"
        try:
            fn(folder / name)
        except Exception as exc:  # noqa: BLE001 - a plot must not cost the bundle
            logger.warning("plot %s skipped: %s", key, exc)
            continue
        out[key] = f"plots/{name}"
    return out
