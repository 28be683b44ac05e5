"""What Uvicorn starts in each worker process: the app, from the environment's settings
(``socialcredit serve`` puts its options there first)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

from fastapi import FastAPI

from socialcredit.settings import load_settings
from socialcredit.web.app import create_app


def app_from_environment() -> FastAPI:
    return create_app(load_settings())


def wait_until_ready(base_url: str, process: subprocess.Popen[Any], seconds: float) -> bool:
    """Poll ``/readyz`` of a server started as ``process`` until it answers 200 (True),
    the process ends or ``seconds`` pass (False)."""
    import httpx

    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def free_port() -> int:
    """A loopback port free at the moment of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve_command(port: int, workers: int) -> list[str]:
    """``socialcredit serve`` on ``port`` with ``workers`` processes, run by this
    Python (for tests and benchmarks that start a real server)."""
    command = [sys.executable, "-m", "socialcredit.cli", "serve"]
    return [*command, "--port", str(port), "--workers", str(workers)]
