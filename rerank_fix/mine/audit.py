"""The false-negative audit: what the filters dropped, written out for a person to label.

Every candidate a false-negative check removed (a duplicate of a positive, too close to the positive for
the bi-encoder, or preferred by the teacher) is a *suspected* unlabeled positive. ``rerank-fix mine
--audit`` writes them as ``audit.jsonl`` (one suspect per line, most suspicious first) and ``audit.html``
(the same as a table with a relevant / not relevant choice per row and a button that saves the labels as
JSONL). Labelled suspects can go back into the qrels; the rest are confirmed negatives.

``min_score`` drops (too easy) are not suspects and are not written.
"""
from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from rerank_fix.core.types import Document

AUDIT_JSONL = "audit.jsonl"
AUDIT_HTML = "audit.html"
# Reasons that mean "this may be relevant"; min_score means "too easy", not "maybe positive".
SUSPECT_REASONS = ("exact_duplicate", "near_duplicate", "absolute_margin", "relative_margin", "max_score", "teacher")


@dataclass
class Suspect:
    """One dropped candidate.

    Args:
        query_id / query: The training query.
        doc_id: The dropped document.
        rank: Its 1-based stage-one rank.
        reason: The first check it failed (see :data:`rerank_fix.mine.miner.DROP_REASONS`).
        stage_one_score: Score from the candidate retriever.
        dense: Bi-encoder cosine similarity to the query (``None`` without a bi-encoder).
        positive_dense: The least similar positive's cosine (the margin rule's reference).
        teacher_prob / positive_teacher_prob: Teacher probabilities, when the teacher judged it.
        positive_ids: The query's judged positives.
    """

    query_id: str
    query: str
    doc_id: str
    rank: int
    reason: str
    stage_one_score: float
    dense: float | None = None
    positive_dense: float | None = None
    teacher_prob: float | None = None
    positive_teacher_prob: float | None = None
    positive_ids: tuple[str, ...] = ()

    @property
    def suspicion(self) -> float:
        """Ordering key: teacher probability ratio, else the bi-encoder gap to the positive, else rank."""
        if self.teacher_prob is not None and self.positive_teacher_prob:
            return self.teacher_prob / self.positive_teacher_prob
        if self.dense is not None and self.positive_dense is not None:
            return 1.0 + self.dense - self.positive_dense
        return 1.0 / self.rank


def sorted_suspects(suspects: Iterable[Suspect]) -> list[Suspect]:
    """Most suspicious first (duplicates first of all: they are the surest)."""
    dup = {"exact_duplicate": 0, "near_duplicate": 1}
    return sorted(suspects, key=lambda s: (dup.get(s.reason, 2), -s.suspicion, s.query_id, s.rank))


def _row(s: Suspect, corpus: Mapping[str, "Document"], max_chars: int) -> dict[str, Any]:
    row = asdict(s)
    row["positive_ids"] = list(s.positive_ids)
    text = corpus[s.doc_id].full_text if s.doc_id in corpus else ""
    row["text"] = text if len(text) <= max_chars else text[:max_chars - 1] + "…"
    row["label"] = None
    return row


def write_audit(suspects: Iterable[Suspect], corpus: Mapping[str, "Document"], out_dir: str | Path,
                max_chars: int = 600) -> dict[str, str]:
    """Write ``audit.jsonl`` and ``audit.html`` into ``out_dir``; returns their paths.

    Example:
        >>> paths = write_audit(result.audit, result.corpus, "runs/mine/scifact")  # doctest: +SKIP
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [_row(s, corpus, max_chars) for s in sorted_suspects(suspects)]
    jsonl = out / AUDIT_JSONL
    tmp = jsonl.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(jsonl)
    page = out / AUDIT_HTML
    tmp = page.with_suffix(".html.tmp")
    tmp.write_text(render_html(rows), encoding="utf-8")
    tmp.replace(page)
    return {"audit": str(jsonl), "audit_html": str(page)}


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


_SCRIPT = """
function saveLabels() {
  const lines = [];
  document.querySelectorAll('tr[data-q]').forEach(tr => {
    const picked = tr.querySelector('input:checked');
    if (picked) lines.push(JSON.stringify({query_id: tr.dataset.q, doc_id: tr.dataset.d,
                                          label: picked.value === 'relevant' ? 1 : 0}));
  });
  const blob = new Blob([lines.join('\\n') + '\\n'], {type: 'application/jsonl'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob); a.download = 'audit-labels.jsonl'; a.click();
}
"""


def render_html(rows: list[dict[str, Any]]) -> str:
    """A self-contained page: one row per suspect, a relevant / not relevant choice, a save button."""
    head = ("<tr><th>#</th><th>query</th><th>suspected positive</th><th>reason</th><th>rank</th>"
            "<th>cosine (positive)</th><th>teacher p (positive)</th><th>label</th></tr>")
    body = []
    for i, r in enumerate(rows):
        name = f"l{i}"
        body.append(
            f'<tr data-q="{html.escape(r["query_id"])}" data-d="{html.escape(r["doc_id"])}">'
            f"<td>{i + 1}</td><td>{html.escape(r['query'])}<br><small>{html.escape(r['query_id'])}</small></td>"
            f"<td><small>{html.escape(r['doc_id'])}</small><br>{html.escape(r['text'])}</td>"
            f"<td>{html.escape(r['reason'])}</td><td>{r['rank']}</td>"
            f"<td>{_fmt(r['dense'])} ({_fmt(r['positive_dense'])})</td>"
            f"<td>{_fmt(r['teacher_prob'])} ({_fmt(r['positive_teacher_prob'])})</td>"
            f'<td><label><input type="radio" name="{name}" value="relevant"> relevant</label><br>'
            f'<label><input type="radio" name="{name}" value="not"> not relevant</label></td></tr>')
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Suspected false negatives</title>"
            "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}"
            "td:nth-child(3){max-width:42em}</style></head><body>"
            f"<h1>Suspected false negatives ({len(rows)})</h1>"
            "<p>Candidates the false-negative filters dropped while mining. Mark the ones that answer the query; "
            "<button onclick='saveLabels()'>save labels (JSONL)</button> writes "
            "<code>{query_id, doc_id, label}</code> lines to add to the qrels.</p>"
            f"<table>{head}{''.join(body)}</table><script>{_SCRIPT}</script></body></html>")
