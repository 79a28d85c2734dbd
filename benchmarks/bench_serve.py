"""Load test of `rerank-fix serve` over loopback, against direct in-process `CrossEncoder.predict` on the same
requests (the named peer): what the HTTP server, JSON and micro-batching cost or gain.

The server runs as its own process (`python -m rerank_fix serve`), so its RSS is measured before and after the
load (flat means no leak). Bounded: at most --requests requests and --max-seconds of load.

    python benchmarks/bench_serve.py                                   # 8 clients, 2,000 requests of 20 documents
    python benchmarks/bench_serve.py --requests 400 --max-seconds 240  # a quicker look on a busy machine

Requests are the bundled demo set's BM25 top-20 candidates per query, cycled; the model is the bundled MiniLM
cross-encoder exported with `rerank-fix export` (fresh head: the scores are not meaningful, the cost is).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_requests(n_docs: int) -> list[tuple[str, list[str]]]:
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.bm25 import BM25Retriever

    ds = load_eval_set("demo")
    bm25 = BM25Retriever()
    bm25.index(ds.corpus)
    run = bm25.search(ds.query_texts, k=n_docs)
    out = []
    for qid in ds.queries:
        ids = run.ranked_ids(qid)
        if len(ids) == n_docs:
            out.append((ds.query_texts[qid], [ds.corpus[d].full_text for d in ids]))
    return out


def export_model(folder: Path) -> Path:
    from rerank_fix.cli import main
    from rerank_fix.models import load_cross_encoder

    load_cross_encoder(None).save(str(folder / "source"))
    if main(["export", str(folder / "source"), str(folder / "exported")]) != 0:
        sys.exit("export failed")
    return folder / "exported"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q)) if values else float("nan")


def load_test(url: str, requests: list[tuple[str, list[str]]], total: int, clients: int,
              max_seconds: float) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    stop_at = time.monotonic() + max_seconds

    def worker() -> None:
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                query, docs = requests[i % len(requests)]
                start = time.perf_counter()
                try:
                    response = client.post(f"{url}/rerank", json={"query": query, "texts": docs})
                    ok = response.status_code == 200 and len(response.json()) == len(docs)
                except httpx.HTTPError as exc:
                    ok, response = False, exc
                elapsed = time.perf_counter() - start
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors.append(str(getattr(response, "status_code", response))[:80])

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"latencies": latencies, "errors": errors, "wall": wall}


def direct_peer(model_dir: Path, requests: list[tuple[str, list[str]]], total: int, max_seconds: float) -> dict:
    """The peer: the same requests scored in-process, one `CrossEncoder.predict` per request."""
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(model_dir))
    model.predict([(requests[0][0], d) for d in requests[0][1]], show_progress_bar=False)  # warm-up
    latencies = []
    stop_at = time.monotonic() + max_seconds
    start = time.perf_counter()
    for i in range(total):
        if time.monotonic() >= stop_at:
            break
        query, docs = requests[i % len(requests)]
        t = time.perf_counter()
        model.predict([(query, d) for d in docs], batch_size=32, show_progress_bar=False)
        latencies.append(time.perf_counter() - t)
    return {"latencies": latencies, "errors": [], "wall": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on each load phase")
    parser.add_argument("--peer-requests", type=int, default=None, help="requests for the peer (default: --requests)")
    parser.add_argument("--model", default=None, help="an exported reranker (default: export the bundled MiniLM)")
    args = parser.parse_args()

    import httpx

    requests = build_requests(args.docs)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        model_dir = Path(args.model) if args.model else export_model(Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "rerank_fix", "serve", str(model_dir), "--port", str(port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the server did not start")
                time.sleep(0.2)
            # Warm-up, not counted: long enough for the micro-batches to reach their steady size, so the
            # allocator's high-water mark is reached before "before" is read.
            warm = load_test(url, requests, args.clients * 4, args.clients, 180)
            rss_before = rss_mb(server.pid)
            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.wait(2.0):
                    samples.append(rss_mb(server.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            served = load_test(url, requests, args.requests, args.clients, args.max_seconds)
            done.set()
            sampler.join()
            rss_after = rss_mb(server.pid)
            batching = httpx.get(f"{url}/info").json()["batching"]
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        peer = direct_peer(model_dir, requests, args.peer_requests or len(served["latencies"]) or args.requests,
                           args.max_seconds)

    def line(name: str, r: dict) -> str:
        n = len(r["latencies"])
        return (f"{name:<44} {n:>6} {len(r['errors']):>6} {n / r['wall']:>8.2f} "
                f"{percentile(r['latencies'], 50):>8.1f} {percentile(r['latencies'], 95):>8.1f} "
                f"{percentile(r['latencies'], 99):>8.1f}")

    print(f"\n{len(requests)} distinct requests of {args.docs} documents (demo set, BM25 top-{args.docs}); "
          f"{args.clients} concurrent clients; bounded at {args.requests} requests / {args.max_seconds:g} s")
    print(f"{'contender':<44} {'done':>6} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    print(line("direct CrossEncoder.predict, in-process (peer)", peer))
    print(line(f"rerank-fix serve, HTTP /rerank, {args.clients} clients", served))
    ratio = (len(served["latencies"]) / served["wall"]) / (len(peer["latencies"]) / peer["wall"])
    print(f"\nthroughput ratio serve / direct predict: {ratio:.2f}x")
    print(f"server RSS: {rss_before:.0f} MB before the load, {rss_after:.0f} MB after "
          f"({rss_after - rss_before:+.0f} MB, {100 * (rss_after - rss_before) / rss_before:+.1f}%)")
    if len(samples) >= 4:
        half = len(samples) // 2
        print(f"server RSS during the load (every 2 s): first half max {max(samples[:half]):.0f} MB, "
              f"second half max {max(samples[half:]):.0f} MB, overall max {max(samples):.0f} MB")
    print(f"micro-batching: {batching['jobs']} requests in {batching['batches']} model calls "
          f"(largest {batching['largest_batch']} pairs); warm-up errors: {len(warm['errors'])}")
    if served["errors"]:
        print(f"errors: {sorted(set(served['errors']))[:5]}")


if __name__ == "__main__":
    main()
