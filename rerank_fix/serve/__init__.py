"""``rerank-fix serve``: a deployment over HTTP on FastAPI + uvicorn (the optional ``serve`` extra)."""
from __future__ import annotations

from rerank_fix.serve.app import Limits, create_app

__all__ = ["Limits", "create_app", "run_server"]


def run_server(path: str, host: str = "127.0.0.1", port: int = 8080, backend: str = "auto",
               limits: Limits | None = None, batch_size: int = 32, max_batch_pairs: int = 256,
               max_wait_ms: float = 2.0, graceful_timeout: float = 10.0, announce=print) -> None:
    """Load ``path`` (an exported model or a fix bundle) and serve it until SIGINT / SIGTERM.

    On a signal, uvicorn stops accepting connections, in-flight requests finish (up to
    ``graceful_timeout`` seconds) and the batcher drains before the process exits.
    """
    from rerank_fix.errors import ConfigError

    try:
        import uvicorn  # noqa: F401
        import fastapi  # noqa: F401
    except ImportError:
        raise ConfigError("rerank-fix serve needs FastAPI and uvicorn: pip install 'rerank-fix[serve]'") from None
    import uvicorn

    from rerank_fix.deploy import load

    deployment = load(path, backend=backend, batch_size=batch_size)
    app = create_app(deployment, limits, max_batch_pairs=max_batch_pairs, max_wait_ms=max_wait_ms)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=graceful_timeout, lifespan="on")
    server = _GracefulServer(config)
    described = ", ".join(f"{k}: {v['backend']}" for k, v in deployment.info()["rerankers"].items())
    announce(f"serving {path} ({described}) on http://{host}:{port}  (routes: /rerank, /v1/rerank, /health, /info)")
    server.run()
    announce("stopped: in-flight requests finished")


def _graceful_server_class():
    import contextlib
    import signal
    import threading

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGINT / SIGTERM after its graceful shutdown, so the process dies of the signal;
        a command that shut down cleanly should exit 0 instead."""

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return GracefulServer


def _GracefulServer(config):  # noqa: N802 - a class factory, so uvicorn is imported only when serving
    return _graceful_server_class()(config)
