#!/usr/bin/env python3
"""Build the bundled demo eval set (``rerank_fix/data/demo/``).

The demo set is a help-center / admin-console corpus for *Harborline*, a fictional
customer-messaging SaaS product. All text is our own, written for this project.
Documents and queries are rendered from the hand-written topic sheets in
``scripts/demo_sheets/*.json`` with a seeded random generator, so re-running the script gives byte-identical files.

Usage::

    python scripts/build_demo_data.py            # (re)write rerank_fix/data/demo/
    python scripts/build_demo_data.py --check    # exit 1 if the shipped files are stale
    python scripts/build_demo_data.py --out /tmp/demo --seed 7

Only the Python standard library and the typo model of ``rerank_fix/core/typos.py`` (itself
standard-library only) are used, so the script runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SEED = 20240917
REPO_ROOT = Path(__file__).resolve().parents[1]
# Typos come from the project's one typo model (standard library only, like this script).
sys.path.insert(0, str(REPO_ROOT))
from rerank_fix.core.typos import misspell  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "rerank_fix" / "data" / "demo"

# Targets from the issue; the split sizes follow from these shares of all queries.
TEST_SHARE = 0.455
DEV_SHARE = 0.15
TYPO_SHARE = 0.18
# Most typos land in the short admin-console queries, as they do in real logs.
TYPO_ADMIN_SHARE_OF_TYPOS = 0.75

PRODUCT = "Harborline"
SHEETS = Path(__file__).resolve().parent / "demo_sheets"


def _sheet(name: str):
    """One data file of hand-written content (topics, near-duplicate pairs, fillers ...)."""
    return json.loads((SHEETS / name).read_text(encoding="utf-8"))

# ---------------------------------------------------------------------------
# Topic sheets: the hand-written content, as data files in scripts/demo_sheets/
#
# Each base topic yields five documents: a how-to guide, a troubleshooting
# article, an admin-console command page, an "about" page and a release note.
# Query prefixes choose the document a query is aimed at:
#   "!t " troubleshooting, "!c " about page, "!g " guide, "!a " admin page.
# Docs-site questions default to the guide, admin-tool queries to the admin page.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    id: str
    cls: str
    titles: tuple[str, ...]
    noun: str
    syns: tuple[str, ...]
    task: str
    nav: str
    steps: tuple[str, ...]
    facts: tuple[str, ...]
    issues: tuple[tuple[str, str], ...]
    cmd: str
    flags: tuple[tuple[str, str], ...]
    change: str
    q_nl: tuple[str, ...]
    q_kw: tuple[str, ...]


def _tuples(value: object) -> object:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def T(id: str, cls: str, **kw: object) -> Topic:  # noqa: A002 - mirrors the sheet field
    return Topic(id=id, cls=cls, **{k: _tuples(v) for k, v in kw.items()})  # type: ignore[arg-type]


TOPICS: list[Topic] = [T(**sheet) for sheet in _sheet("topics.json")]


# ---------------------------------------------------------------------------
# Hard-negative pairs: two near-duplicate pages rendered from one template that
# differ only in the crucial detail. Each side has its own queries, which are
# judged relevant to that side only, so a system must notice the detail.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    name: str
    slots: dict[str, str]
    q_nl: tuple[str, ...]
    q_kw: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    id: str
    cls: str
    detail: str
    title: str
    text: str
    sides: tuple[Side, Side]


def _pair(sheet: dict) -> Pair:
    sides = tuple(Side(s["name"], dict(s["slots"]), tuple(s["q_nl"]), tuple(s["q_kw"])) for s in sheet["sides"])
    return Pair(sheet["id"], sheet["cls"], sheet["detail"], sheet["title"], sheet["text"], sides)  # type: ignore[arg-type]


PAIRS: list[Pair] = [_pair(sheet) for sheet in _sheet("pairs.json")]

# Older postmortems written in the same shape: unjudged distractors that make
# "which quarter?" queries harder (same quarter, different year, or other subject).
EXTRA_POSTMORTEMS: list[dict[str, str]] = _sheet("extra_postmortems.json")["pages"]
EXTRA_POSTMORTEM_TITLE = _sheet("extra_postmortems.json")["title"]

# Other unjudged pages that give the corpus the breadth of a real help center.
FILLERS: list[tuple[str, str, str, str]] = [tuple(page) for page in _sheet("fillers.json")]


# ---------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

MISC_CHANGES = _sheet("release_notes.json")

ISSUE_LABELS = [tuple(pair) for pair in _sheet("issue_labels.json")]


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def lc_first(s: str) -> str:
    """Lower-case the first letter unless the first word is an identifier or acronym."""
    first = s.split(" ", 1)[0]
    if any(c.isupper() or c.isdigit() or c == "_" for c in first[1:]):
        return s
    return s[:1].lower() + s[1:]


def end(s: str) -> str:
    s = s.rstrip()
    return s if s[-1:] in ".?!" else s + "."


def nav_leaf(nav: str) -> str:
    return nav.split("›")[-1].strip()


def example_command(cmd: str, rng: random.Random) -> str:
    samples = {
        "workspace_id": "ws_4821", "yyyy": "2024", "count": "12", "type": "eu_vat", "value": "DE123456789",
        "invoice_id": "in_20240311_0042", "email": "dana@example.com", "code": "SPRING50", "amount": "500",
        "label": "crm-sync", "list": "contacts:read,contacts:write", "key_id": "key_7Hq2", "duration": "48h",
        "scope,...": "contacts:read", "resource": "contacts", "https-url": "https://hooks.example.com/hl",
        "endpoint_id": "we_118", "time": "2024-05-01T00:00Z", "key": "3f6c1e2a", "request_id": "req_9ZkP1",
        "name": "Acme Connector", "uri": "https://app.example.com/oauth/callback", "version": "2024-06",
        "days": "7", "cidr": "203.0.113.0/24", "key-arn": "arn:aws:kms:eu-central-1:1111:key/abcd",
        "email,...": "sam@example.com,lee@example.com", "role": "agent", "name_": "acme",
        "slug": "acme-support", "old_email": "dana@old.example.com", "new_email": "dana@example.com",
        "contact_id": "ct_5531", "event": "mention", "channel": "email", "tz": "Europe/Berlin",
        "list_id": "8841", "conversation_id": "cv_77120", "issue_key": "SUP-412", "address": "ops@example.com",
        "domain": "mail.example.com", "hostname": "help.example.com", "yyyy-mm": "2024-08",
        "sev": "sev1", "incident_id": "inc_2024_081", "n": "365", "scope": "attachments",
        "team|business": "business", "json|csv": "json",
    }

    def sub(m: re.Match[str]) -> str:
        return samples.get(m.group(1), m.group(1).replace("-", "_"))

    return re.sub(r"<([^>]+)>", sub, cmd)


def render_steps(steps: tuple[str, ...], rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return "\n".join(f"{i}. {end(s)}" for i, s in enumerate(steps, 1))
    if style == 1:
        firsts = ["First,", "To begin,", "Start here:"]
        mids = ["Next,", "Then", "After that,"]
        lasts = ["Finally,", "Last,", "To finish,"]
        out = []
        for i, s in enumerate(steps):
            if i == 0:
                lead = rng.choice(firsts)
            elif i == len(steps) - 1:
                lead = rng.choice(lasts)
            else:
                lead = mids[(i - 1) % len(mids)]
            out.append(f"{lead} {end(lc_first(s))}")
        return " ".join(out)
    body = "; ".join(lc_first(s).rstrip(".") for s in steps)
    return f"Steps: {cap(body)}."


def render_guide(t: Topic, title: str, rng: random.Random) -> str:
    intro = rng.choice([
        f"You can {t.task} from {t.nav}.",
        f"Need to {t.task}? Follow the steps below.",
        f"This article shows how to {t.task}.",
        f"Admins often ask how to {t.task}. It only takes a minute.",
        f"Here is how to {t.task}.",
        f"To {t.task}, use the {nav_leaf(t.nav)} page ({t.nav}).",
    ])
    facts = rng.sample(t.facts, 2)
    note = rng.choice(["Note:", "Good to know:", "Tip:", "Keep in mind:", "Before you start:"])
    parts = [intro]
    if note == "Before you start:":
        parts.append(f"{note} {facts[0]}")
        parts.append(render_steps(t.steps, rng))
    else:
        parts.append(render_steps(t.steps, rng))
        parts.append(f"{note} {facts[0]}")
    if rng.random() < 0.5:
        parts.append(facts[1])
    closer = rng.choice([
        f"If the steps above don't work, see the {rng.choice((t.noun,) + t.syns)} troubleshooting page.",
        "Questions? Contact support from Help › Contact support.",
        "",
        f"Related: {t.titles[-1]}.",
    ])
    if closer:
        parts.append(closer)
    return "\n".join(parts)


def render_trouble(t: Topic, rng: random.Random) -> tuple[str, str]:
    title = rng.choice([
        f"Troubleshooting {rng.choice((t.noun,) + t.syns)}",
        f"{cap(t.noun)}: common problems",
        t.issues[0][0],
        f"{cap(t.noun)} not working? Start here",
    ])
    intro = rng.choice([
        f"{cap(t.noun)} problems usually have one of the causes below; check them before contacting support.",
        f"These are the issues we see most often when people try to {t.task}.",
        "Most problems have a quick fix. Find yours below.",
        f"Running into trouble? Here are the usual causes, starting with the most common.",
    ])
    left, right = rng.choice(ISSUE_LABELS)
    issues = list(t.issues)
    rng.shuffle(issues)
    blocks = [f"{left}: {end(s)}\n{right}: {end(cap(f))}" for s, f in issues]
    parts = [intro, *blocks]
    parts.append(rng.choice(["Also worth knowing:", "Background:", "Remember:"]) + " " + rng.choice(t.facts))
    parts.append(rng.choice([
        "Still stuck? Send support the request ID and the time the problem started.",
        f"If none of this helps, open a ticket and mention that you followed this checklist.",
        "Contact support if the problem persists.",
    ]))
    return title, "\n".join(parts)


def render_admin(t: Topic, rng: random.Random) -> tuple[str, str]:
    head = re.split(r" <| --", t.cmd)[0]
    title = rng.choice([f"Admin console: {head}", f"{head} (admin console command)",
                        f"Console reference: {head}"])
    intro = rng.choice([
        f"Use this command to {t.task}.",
        f"{cap(t.task)} from the {PRODUCT} admin console.",
        f"Does the same as {t.nav} in the web app: {t.task}.",
    ])
    if rng.random() < 0.5:
        opts = "Options:\n" + "\n".join(f"  {f}  {d}" for f, d in t.flags)
    else:
        opts = "Flags: " + "; ".join(f"{f} ({d})" for f, d in t.flags) + "."
    parts = [f"Usage: hl {t.cmd}", intro, opts, rng.choice(t.facts),
             f"Example: hl {example_command(t.cmd, rng)}"]
    parts.append(rng.choice([
        "The command prints a confirmation and writes an entry to the audit log.",
        "Add --json to get machine-readable output.",
        "Run it with --help to see every option.",
        "",
    ]))
    return title, "\n".join(p for p in parts if p)


def render_about(t: Topic, rng: random.Random) -> tuple[str, str]:
    noun = rng.choice((t.noun,) + t.syns)
    title = rng.choice([f"{cap(noun)}: how it works", f"{cap(noun)} explained", f"{cap(noun)} FAQ",
                        f"{cap(noun)}: the details"])
    facts = list(t.facts)
    rng.shuffle(facts)
    joins = ["Also, ", "In addition, ", "Note that "]
    body = " ".join(
        (rng.choice(joins) + lc_first(f)) if i and rng.random() < 0.3 else f for i, f in enumerate(facts)
    )
    intro = rng.choice([
        f"This page answers the questions admins ask most often about this part of {PRODUCT}.",
        "A quick overview for workspace admins.",
        "What you need to know, in short.",
    ])
    outro = rng.choice([f"You'll find the settings under {t.nav}.", f"Settings live in {t.nav}.",
                        f"For step-by-step instructions see {t.titles[0]}."])
    return title, f"{intro} {body}\n{outro}"


def render_release(t: Topic, rng: random.Random) -> tuple[str, str]:
    year = rng.choice([2023, 2024])
    month = rng.randrange(12)
    day = rng.randrange(1, 29)
    title = rng.choice([f"Release notes: {MONTHS[month]} {day}, {year}",
                        f"What's new in {PRODUCT}, {MONTHS[month]} {year}",
                        f"Product update {year}-{month + 1:02d}-{day:02d}"])
    items = [t.change, *rng.sample(MISC_CHANGES, 2)]
    rng.shuffle(items)
    lines = "\n".join(f"- {x}" for x in items)
    return title, f"{rng.choice(['This release includes:', 'Changes in this release:', 'Highlights:'])}\n{lines}"


# ---------------------------------------------------------------------------
# Typos
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

KIND_BY_PREFIX = {"!t": "trouble", "!c": "about", "!g": "guide", "!a": "admin"}
DOC_TYPE = {"guide": "guide", "trouble": "troubleshooting", "admin": "admin-command", "about": "about",
            "release": "release-note"}


@dataclass
class Built:
    docs: list[dict] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)


def _doc(built: Built, doc_id: str, title: str, text: str, meta: dict) -> None:
    built.docs.append({"_id": doc_id, "title": title, "text": text, "metadata": meta})


def _parse_target(q: str, default: str) -> tuple[str, str]:
    head = q[:2]
    if head in KIND_BY_PREFIX and q[2:3] == " ":
        return KIND_BY_PREFIX[head], q[3:]
    return default, q


def build(seed: int = DEFAULT_SEED) -> Built:
    rng = random.Random(seed)
    built = Built()
    raw_queries: list[tuple[str, dict, dict[str, int]]] = []

    for t in TOPICS:
        ids = {k: f"{t.id}-{k}" for k in ("guide", "trouble", "admin", "about", "release")}
        base = {"class": t.cls, "topic": t.id}
        _doc(built, ids["guide"], t.titles[0], render_guide(t, t.titles[0], rng),
             {**base, "doc_type": "guide", "source": "help-center"})
        title, text = render_trouble(t, rng)
        _doc(built, ids["trouble"], title, text, {**base, "doc_type": "troubleshooting", "source": "help-center"})
        title, text = render_admin(t, rng)
        _doc(built, ids["admin"], title, text, {**base, "doc_type": "admin-command", "source": "admin-console"})
        title, text = render_about(t, rng)
        _doc(built, ids["about"], title, text, {**base, "doc_type": "about", "source": "help-center"})
        title, text = render_release(t, rng)
        _doc(built, ids["release"], title, text, {**base, "doc_type": "release-note", "source": "release-notes"})

        for segment, items, default in (("docs-site", t.q_nl, "guide"), ("admin-tool", t.q_kw, "admin")):
            for q in items:
                kind, text = _parse_target(q, default)
                rel = {ids[kind]: 2}
                if kind == "trouble":
                    rel[ids["guide"]] = 1
                else:
                    for other in ("guide", "admin", "about"):
                        if other != kind:
                            rel[ids[other]] = 1
                raw_queries.append((text, {"segment": segment, "class": t.cls, "topic": t.id,
                                           "intent": DOC_TYPE[kind]}, rel))

    for p in PAIRS:
        a, b = p.sides
        for side, other in ((a, b), (b, a)):
            doc_id, other_id = f"{p.id}-{side.name}", f"{p.id}-{other.name}"
            _doc(built, doc_id, p.title.format(**side.slots), p.text.format(**side.slots),
                 {"class": p.cls, "topic": p.id, "doc_type": "postmortem" if p.id.startswith("postmortem")
                  else "reference", "source": "status" if p.cls == "incidents" else "help-center",
                  "pair": p.id, "variant": side.name, "near_duplicate_of": other_id, "detail": p.detail})
            for segment, items in (("docs-site", side.q_nl), ("admin-tool", side.q_kw)):
                for text in items:
                    raw_queries.append((text, {"segment": segment, "class": p.cls, "topic": p.id,
                                               "intent": "pair", "pair": p.id, "variant": side.name,
                                               "hard_negative": other_id}, {doc_id: 2}))

    for pm in EXTRA_POSTMORTEMS:
        slots = {**pm, "year": pm["year"]}
        text = PAIRS[3].text.format(**slots)
        _doc(built, pm["id"], EXTRA_POSTMORTEM_TITLE.format(**slots), text,
             {"class": "incidents", "topic": "postmortem-webhooks", "doc_type": "postmortem", "source": "status"})
    for doc_id, cls, title, text in FILLERS:
        _doc(built, doc_id, title, text, {"class": cls, "topic": doc_id, "doc_type": "article",
                                          "source": "help-center"})

    texts = [q[0] for q in raw_queries]
    dupes = sorted({x for x in texts if texts.count(x) > 1})
    if dupes:
        raise SystemExit(f"duplicate query texts in the topic sheets: {dupes}")

    # Typos: a fixed share of all queries, most of them in the admin-tool segment.
    n_typo = round(TYPO_SHARE * len(raw_queries))
    n_admin = round(n_typo * TYPO_ADMIN_SHARE_OF_TYPOS)
    by_seg: dict[str, list[int]] = {"admin-tool": [], "docs-site": []}
    for i, (text, meta, _) in enumerate(raw_queries):
        if re.search(r"[A-Za-z]{4,}", text):
            by_seg[meta["segment"]].append(i)
    typo_idx = set(rng.sample(by_seg["admin-tool"], n_admin)) | set(rng.sample(by_seg["docs-site"], n_typo - n_admin))
    seen = set(texts)
    queries: list[tuple[str, dict, dict[str, int]]] = []
    for i, (text, meta, rel) in enumerate(raw_queries):
        if i in typo_idx:
            noisy = misspell(text, rng)
            while noisy in seen or noisy == text:
                noisy = misspell(text, rng)
            seen.add(noisy)
            meta = {**meta, "typo": True, "clean_text": text}
            text = noisy
        else:
            meta = {**meta, "typo": False}
        queries.append((text, meta, rel))

    # Splits, stratified by segment and typo so every split has the same mix.
    order = list(range(len(queries)))
    strata: dict[tuple[str, bool], list[int]] = {}
    for i in order:
        strata.setdefault((queries[i][1]["segment"], queries[i][1]["typo"]), []).append(i)
    split_of: dict[int, str] = {}
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        n_test = round(len(members) * TEST_SHARE)
        n_dev = round(len(members) * DEV_SHARE)
        for j, i in enumerate(members):
            split_of[i] = "test" if j < n_test else "dev" if j < n_test + n_dev else "train"

    for i, (text, meta, rel) in enumerate(queries):
        qid = f"q{i + 1:04d}"
        built.queries.append({"_id": qid, "text": text, "metadata": {**meta, "split": split_of[i]}})
        built.qrels[qid] = rel
        built.split[qid] = split_of[i]
    built.docs.sort(key=lambda d: d["_id"])
    return built


def write(built: Built, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    written = []

    def dump(path: Path, rows: list[dict]) -> None:
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        written.append(path)

    dump(out / "corpus.jsonl", built.docs)
    dump(out / "queries.jsonl", built.queries)
    for split in ("test", "train", "dev"):
        path = out / "qrels" / f"{split}.tsv"
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            for qid, rel in built.qrels.items():
                if built.split[qid] != split:
                    continue
                for doc_id, score in sorted(rel.items(), key=lambda kv: (-kv[1], kv[0])):
                    fh.write(f"{qid}\t{doc_id}\t{score}\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the files in --out differ from a fresh build")
    args = ap.parse_args(argv)
    built = build(args.seed)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = write(built, Path(tmp))
            stale = [p.relative_to(tmp) for p in fresh
                     if not (args.out / p.relative_to(tmp)).is_file()
                     or (args.out / p.relative_to(tmp)).read_bytes() != p.read_bytes()]
        if stale:
            print(f"stale demo files in {args.out}: {', '.join(map(str, stale))}; "
                  f"run python scripts/build_demo_data.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    paths = write(built, args.out)
    n_split = {s: sum(1 for v in built.split.values() if v == s) for s in ("test", "train", "dev")}
    print(f"wrote {len(built.docs)} documents, {len(built.queries)} queries "
          f"({n_split}) to {args.out} ({sum(p.stat().st_size for p in paths):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
