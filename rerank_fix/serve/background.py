"""Run an app on a loopback port in a background thread (tests, benchmarks, notebooks)."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any


class BackgroundServer:
    """uvicorn on ``127.0.0.1:<free port>`` in a daemon thread; a context manager.

    Args:
        app: An ASGI app (e.g. :func:`~rerank_fix.serve.create_app`).
        host: Interface to bind (loopback by default).

    Example:
        >>> with BackgroundServer(create_app(deployment)) as server:   # doctest: +SKIP
        ...     httpx.get(server.url + "/health").json()
        {'status': 'ok'}
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", startup_timeout: float = 30.0) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host, self.port = host, self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=10)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]},
                                        name="rerank-fix-serve", daemon=True)
        self.startup_timeout = startup_timeout

    def start(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
