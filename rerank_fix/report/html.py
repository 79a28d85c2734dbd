"""One self-contained HTML file from a markdown report: tables styled, PNGs embedded as base64."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_IMG = re.compile(r'<img src="([^"]+)"')

CSS = """
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #eee; }
h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .86em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f5f5f5; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; font-size: .92em; }
li { margin: .2em 0; }
"""


def _embed(match: re.Match, base_dir: Path) -> str:
    src = match.group(1)
    path = (base_dir / src) if not src.startswith(("data:", "http:", "https:")) else None
    if path is None or not path.is_file():
        return match.group(0)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/png" if path.suffix.lower() == ".png" else "image/svg+xml" if path.suffix.lower() == ".svg" else "image/jpeg"
    return f'<img src="data:{mime};base64,{data}"'


def _fallback_render(markdown: str) -> str:
    # Without markdown-it (a dependency of rich, so normally present) the text is still readable.
    return f"<pre>{html.escape(markdown)}</pre>"


def markdown_to_html(markdown: str, base_dir: str | Path = ".", title: str = "report") -> str:
    """Render ``markdown`` (GitHub-style tables) to a single HTML page with every local image inlined.

    Args:
        markdown: The report text.
        base_dir: Folder that image paths in the markdown are relative to.
        title: Page title.

    Example:
        >>> page = markdown_to_html("# Hi\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |")
        >>> "<table>" in page and "<h1>Hi</h1>" in page
        True
    """
    try:
        from markdown_it import MarkdownIt

        body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    except ImportError:
        body = _fallback_render(markdown)
    base = Path(base_dir)
    body = _IMG.sub(lambda m: _embed(m, base), body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")
