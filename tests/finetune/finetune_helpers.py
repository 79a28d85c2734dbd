"""A tiny collection and triples, written to a folder, for fast fine-tuning tests on the bundled MiniLM."""
from __future__ import annotations

import json
from pathlib import Path

TOPICS = {
    "password": ("reset a forgotten account password", "Open settings, choose security and click reset password; "
                 "a reset link is emailed to you."),
    "apikey": ("rotate an api key", "API keys are rotated from the developer console: create a new key, deploy it, "
               "then revoke the old key."),
    "refund": ("refund for an annual plan", "Annual plans are refunded pro rata within 30 days of purchase; contact "
               "billing to request a refund."),
    "export": ("export data to csv", "Use the export button on any report to download its rows as a CSV file."),
    "invoice": ("download past invoices", "Past invoices are listed under billing history, each with a PDF "
                "download link."),
    "sso": ("set up single sign on", "Single sign-on is configured by an admin with SAML: upload the identity "
            "provider metadata in the security tab."),
    "webhook": ("webhook retries after failure", "Failed webhook deliveries are retried with exponential backoff "
                "for up to 24 hours."),
    "delete": ("delete my account permanently", "Account deletion is permanent: go to profile, choose delete "
               "account and confirm with your password."),
    "twofa": ("enable two factor authentication", "Two-factor authentication is enabled under security with an "
              "authenticator app or SMS codes."),
    "rate": ("api rate limit exceeded error", "The API allows 100 requests per minute; exceeding it returns HTTP "
             "429 until the window resets."),
    "team": ("invite a teammate to the workspace", "Workspace owners invite teammates from the members page by "
             "email; invites expire after 7 days."),
    "dark": ("turn on dark mode", "Dark mode is a display preference under appearance in your profile settings."),
}
PARAPHRASES = ["how do I {}", "{}", "help with {}", "{} steps", "guide: {}"]


def write_collection(root: Path) -> Path:
    """BEIR layout: corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv. Returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    names = list(TOPICS)
    with (root / "corpus.jsonl").open("w") as f:
        for name in names:
            title, text = TOPICS[name]
            f.write(json.dumps({"_id": f"d-{name}", "title": title.capitalize(), "text": text}) + "\n")
            f.write(json.dumps({"_id": f"d-{name}-x", "title": "", "text": f"Notes about {title}: see the help "
                                "center for details and related articles."}) + "\n")
    queries, qrels = [], {"train": [], "dev": [], "test": []}
    for t, name in enumerate(names):
        for p, pattern in enumerate(PARAPHRASES):
            qid = f"q-{name}-{p}"
            split = "test" if p == 4 else "dev" if p == 3 else "train"
            queries.append({"_id": qid, "text": pattern.format(TOPICS[name][0])})
            qrels[split].append((qid, f"d-{name}"))
    with (root / "queries.jsonl").open("w") as f:
        for q in queries:
            f.write(json.dumps(q) + "\n")
    (root / "qrels").mkdir(exist_ok=True)
    for split, rows in qrels.items():
        with (root / "qrels" / f"{split}.tsv").open("w") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for qid, did in rows:
                f.write(f"{qid}\t{did}\t1\n")
    return root


def write_triples(root: Path, path: Path, negatives: int = 6, splits: tuple[str, ...] = ("train",)) -> Path:
    """FlagEmbedding JSONL triples for the queries of ``splits``, negatives from other topics (extra keys kept)."""
    corpus = {json.loads(l)["_id"]: json.loads(l) for l in (root / "corpus.jsonl").read_text().splitlines()}
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in (root / "queries.jsonl").read_text().splitlines()}
    names = list(TOPICS)

    def text(doc_id):
        d = corpus[doc_id]
        return f"{d['title']}\n{d['text']}" if d["title"] else d["text"]

    with path.open("w") as f:
        for split in splits:
            for line in (root / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
                qid, did, _ = line.split("\t")
                name = did.removeprefix("d-")
                i = names.index(name)
                others = [names[(i + k) % len(names)] for k in range(1, negatives + 1)]
                neg_ids = [f"d-{o}" if k % 2 == 0 else f"d-{o}-x" for k, o in enumerate(others)]
                f.write(json.dumps({"query": queries[qid], "pos": [text(did)], "neg": [text(n) for n in neg_ids],
                                    "query_id": qid, "pos_ids": [did], "neg_ids": neg_ids,
                                    "metadata": {"miner": "test"}}) + "\n")
    return path


def tiny_config(root: Path, out: Path, triples: Path, **sections) -> dict:
    """A tiny config dict: MiniLM, max_length 64, group 4, a handful of steps."""
    cfg = {
        "name": "tiny",
        "output_dir": str(out),
        "seed": 7,
        # The random head keeps these tests' scores where they were written against (test_head_init.py
        # covers the warm start, the default); on 24 documents the probe separates them almost perfectly.
        "model": {"name_or_path": "bundled", "max_length": 64, "head_init": "none"},
        "data": {"triples": str(triples), "group_size": 4},
        "loss": {"name": "group_ce"},
        "train": {"epochs": 2, "per_device_batch_size": 6, "learning_rate": 5e-5, "warmup_ratio": 0.1,
                  "save_steps": 4, "save_total_limit": 2, "logging_steps": 1},
        "eval": {"enabled": True, "data": str(root), "split": "dev", "first_stage": "bm25", "depth": 10,
                 "metric": "ndcg@10", "metrics": ["ndcg@10", "recall@5"], "strategy": "epoch",
                 "batch_size": 32, "early_stopping_patience": None},
    }
    for key, value in sections.items():
        cfg.setdefault(key, {})
        if isinstance(value, dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg
