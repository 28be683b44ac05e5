"""Keeping a server's audit index up with its log, in a process of its own.

A thread in each worker did it first: its few milliseconds of Python a second held the
GIL the event loop waited for, and the p99 of single checks went from 3.7 ms to 15-20
ms. A separate process at a lower priority (``nice`` 10) costs the event loops nothing
but a share of the cores when they are idle. Each worker starts one (of two, one does
the work each turn: the index's own lock), which ends with its worker. An in-memory
store lives in one connection of one process: none is started (look-ups stay exact,
scanning the whole log).

Run as ``python -m socialcredit.audit`` (the store's URL in
``SOCIALCREDIT_DATABASE_URL``, as for the server).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from types import FrameType

from sqlalchemy.engine import make_url

from socialcredit.audit.subject_index import SubjectIndex
from socialcredit.store import Database

log = logging.getLogger(__name__)

#: how much lower the maintainer's priority is than the server's
NICENESS = 10
URL_VARIABLE = "SOCIALCREDIT_DATABASE_URL"
#: how often the server looks whether its maintainer still runs
RESTART_SECONDS = 2.0


class IndexMaintainer:
    """Maintains ``database``'s audit index every ``interval`` seconds while started,
    from a child process that is started again if it ends (killed for memory, a store
    that was down when it started): the tail would otherwise grow, and every look-up
    scan it."""

    def __init__(self, database: Database, interval: float = 1.0) -> None:
        self.database = database
        self.interval = interval
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None
        self.restarts = 0

    @property
    def shareable(self) -> bool:
        """Whether another process can open the store (a file or a server): if not,
        nothing is started."""
        parsed = make_url(self.database.url)
        return not (self.database.is_sqlite and parsed.database in (None, "", ":memory:"))

    def start(self) -> None:
        if not self.shareable:
            return
        self._stop.clear()
        self._process = self._spawn()
        self._watch = threading.Thread(target=self._supervise, name="audit-index", daemon=True)
        self._watch.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "socialcredit.audit"]
        command += ["--interval", str(self.interval), "--parent", str(os.getpid())]
        env = {**os.environ, URL_VARIABLE: self.database.url}
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)

    def _supervise(self) -> None:
        wait = RESTART_SECONDS
        while not self._stop.wait(wait):
            process = self._process
            if process is None or process.poll() is None:
                wait = RESTART_SECONDS
                continue
            log.warning(
                "the audit index maintainer ended (exit %s); starting it again",
                process.returncode,
            )
            self.restarts += 1
            self._process = self._spawn()
            wait = min(wait * 2, 60.0)  # one that keeps failing is retried less often

    def stop(self) -> None:
        """Stop; one cut off mid-write leaves a run not yet live, collected next time."""
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=30)
            self._watch = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def _keep_up(index: SubjectIndex, interval: float, stop: threading.Event, parent: int) -> None:
    while not stop.wait(interval):
        if os.getppid() != parent:
            return  # the worker is gone
        try:
            index.maintain()
        except Exception:  # outlive a bad turn; look-ups stay exact through the tail
            log.exception("audit index maintenance")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--parent", type=int, required=True, help="end when this process does")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.nice(NICENESS)
    stop = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _keep_up(SubjectIndex(Database(os.environ[URL_VARIABLE])), args.interval, stop, args.parent)


if __name__ == "__main__":
    main()
