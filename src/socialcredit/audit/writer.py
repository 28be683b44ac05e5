"""A thread that appends the entries many threads hand in, a batch a transaction."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from socialcredit.audit.log import AuditEntry, AuditLog


class AuditWriter:
    """Appends entries handed in by many threads, each batch in one transaction (a
    group commit): a request waits for its own entry to be committed, as the log
    requires, but a busy server pays for one transaction per batch, not per request."""

    def __init__(self, log: AuditLog, max_batch: int = 2_000) -> None:
        self.log = log
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[AuditEntry, Future[int]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, entry: AuditEntry) -> Future[int]:
        """The entry's number, once committed (or the error that kept it out)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
        done: Future[int] = Future()
        self._queue.put((entry, done))
        return done

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                numbers = self.log.append([entry for entry, _ in batch])
            except Exception as error:  # every waiter still waiting learns it
                for _, done in batch:
                    if done.set_running_or_notify_cancel():
                        done.set_exception(error)
            else:
                for (_, done), number in zip(batch, numbers, strict=True):
                    # a waiter that gave up cancelled its future: the entry stands
                    if done.set_running_or_notify_cancel():
                        done.set_result(number)
            if stop:
                return
