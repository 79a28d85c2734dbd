"""Plain-text table rendering shared by every report."""
from __future__ import annotations

import math
from typing import Sequence

from rerank_fix.evaluate.stats import Estimate


def fmt_number(value: float, digits: int = 3, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def fmt_estimate(est: Estimate, digits: int = 3, signed: bool = False) -> str:
    """``0.645 [0.610, 0.680]``"""
    if math.isnan(est.low):
        return fmt_number(est.mean, digits, signed)
    return f"{fmt_number(est.mean, digits, signed)} [{fmt_number(est.low, digits, signed)}, {fmt_number(est.high, digits, signed)}]"


def fmt_compact(est: Estimate, digits: int = 3) -> str:
    """``0.645±0.035`` (half the CI width) for narrow terminal tables."""
    if math.isnan(est.low):
        return fmt_number(est.mean, digits)
    return f"{est.mean:.{digits}f}±{(est.high - est.low) / 2:.{digits}f}"


def fmt_p(p: float) -> str:
    """The one p-value format of every report: three decimals below 0.1, two above, ``<0.001`` at the bottom.

    Example:
        >>> [fmt_p(p) for p in (0.0004, 0.0123, 0.25, float("nan"))]
        ['<0.001', '0.012', '0.25', '–']
    """
    if p is None or math.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def rich_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]):
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for i, h in enumerate(headers):
        table.add_column(str(h), justify="left" if i < 2 else "right", overflow="fold")
    for row in rows:
        table.add_row(*[str(v) for v in row])
    return table


# Wide enough for a headline table without wrapping every cell; a log file has no window to fit.
LOG_WIDTH = 160


def terminal_console(stderr: bool = False):
    """A rich console for the commands' tables: the terminal's width, or :data:`LOG_WIDTH` columns when the
    output goes to a file or pipe (rich would otherwise assume 80 and wrap every cell); ``$COLUMNS`` wins."""
    import os

    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, width=LOG_WIDTH)
    return console
