"""Shared by the hostile-input suite: a tiny BEIR set, the CLI run in-process, and the checks every case makes.

Every case asserts the same four things: exit code 2 for a user's mistake, exactly one ``error:`` line of the
form ``error: <file>[:<line>]: <what> — <how to fix>``, no traceback, and no file lost or left stale.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

CORPUS = [{"_id": "d1", "title": "Refunds", "text": "Annual plans are refunded within 30 days."},
          {"_id": "d2", "title": "Keys", "text": "Rotate API keys from the developer console."},
          {"_id": "d3", "title": "", "text": "Dark mode is under appearance settings."}]
QUERIES = [{"_id": "q1", "text": "refund annual plan"}, {"_id": "q2", "text": "rotate api key"},
           {"_id": "q3", "text": "dark mode"}]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n"

# <where>: <what> — <how to fix>, on one line; <where> is a file (maybe :line), an option or a command.
ERROR_LINE = re.compile(r"^error: (?P<where>[^ ].*?): (?P<what>.+) — (?P<fix>.+)$")


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_set(root: Path, corpus=None, queries=None, qrels: str | bytes = QRELS, raw_corpus: str | bytes | None = None,
              raw_queries: str | bytes | None = None) -> Path:
    """A BEIR folder; ``raw_*`` are written as given (bytes for encoding cases)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)

    def put(path: Path, content):
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    put(root / "corpus.jsonl", raw_corpus if raw_corpus is not None else jsonl(corpus or CORPUS))
    put(root / "queries.jsonl", raw_queries if raw_queries is not None else jsonl(queries or QUERIES))
    put(root / "qrels" / "test.tsv", qrels)
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def cli(capsys, *argv) -> Result:
    from rerank_fix.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def assert_user_error(result: Result, pattern: str, code: int = 2) -> re.Match:
    """Exit code, one well-formed error line (the last thing printed), no traceback; returns the line's match."""
    text = result.out + result.err
    assert "Traceback" not in text, text
    assert result.code == code, f"exit code {result.code}:\n{text}"
    assert len(result.error_lines) == 1, text
    line = result.error_lines[0]
    assert result.err.rstrip().splitlines()[-1] == line, text
    assert "\x1b" not in line and len(line) < 1000, line
    match = ERROR_LINE.match(line)
    assert match, f"not of the form 'error: <where>: <what> — <how to fix>': {line}"
    assert re.search(pattern, line), f"{pattern!r} not in: {line}"
    return match


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file (and link) under ``roots`` with a hash of its content: compare before and after."""
    files = {}
    for root in roots:
        if root.is_symlink() or root.is_file():
            files[str(root)] = _digest(root)
            continue
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or path.is_file():
                files[str(path)] = _digest(path)
    return files


def _digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + str(path.readlink())
    return hashlib.sha256(path.read_bytes()).hexdigest()
