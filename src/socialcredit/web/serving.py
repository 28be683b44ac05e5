"""The snapshot in service: picked up when a new one is published, without a restart.

A poller (a thread of the app's lifespan) reads the ``CURRENT`` pointer every
``snapshot_poll_seconds``; a new snapshot is opened and warmed (subject index, rank
tables, decisions) before it replaces the old one, so the swap is one reference
assignment. A request takes the reference once, at its start, and answers from that
snapshot throughout: requests in flight finish on the old one (its arrays stay mapped
after it is retired).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from socialcredit.errors import UnavailableError
from socialcredit.scoring.snapshots import Snapshot, SnapshotError, SnapshotStore

log = logging.getLogger(__name__)


class SnapshotHolder:
    def __init__(
        self, data: Path, poll_seconds: float, housekeeping: Callable[[], None] | None = None
    ) -> None:
        """``housekeeping``: also run by the poller, once a second at most (the store's
        checkpoints)."""
        self.store = SnapshotStore.of(data)
        self.poll_seconds = poll_seconds
        self._current: Snapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.housekeeping = housekeeping

    @property
    def current(self) -> Snapshot | None:
        return self._current

    def require(self) -> Snapshot:
        snapshot = self._current
        if snapshot is None:
            raise UnavailableError(
                "no snapshot is loaded yet: run `socialcredit score`", retry_after_seconds=1
            )
        return snapshot

    def refresh(self) -> bool:
        """Load the published snapshot if it is not the one in service; True if it
        changed. A snapshot that cannot be opened leaves the old one in service."""
        wanted = self.store.current_id()
        if wanted is None or (self._current is not None and self._current.id == wanted):
            return False
        try:
            snapshot = self.store.open(wanted)
            _warm(snapshot)
        except (SnapshotError, OSError, ValueError, KeyError) as error:
            self.last_error = f"snapshot {wanted}: {error}"
            log.warning("cannot serve %s", self.last_error)
            return False
        self._current, self.last_error = snapshot, None
        log.info("serving snapshot %s", snapshot.id)
        return True

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._poll, name="snapshot-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _poll(self) -> None:
        last_housekeeping = time.monotonic()
        while not self._stop.wait(min(self.poll_seconds, 1.0)):
            try:
                self.refresh()
                if self.housekeeping and time.monotonic() - last_housekeeping >= 1.0:
                    last_housekeeping = time.monotonic()
                    self.housekeeping()
            except Exception:  # the poller must outlive any one bad snapshot or store
                log.exception("snapshot poller")


def _warm(snapshot: Snapshot) -> None:
    """Refuse a damaged snapshot before it is served (its own check), and load what
    answers need, so the first requests on a new snapshot are not slow."""
    snapshot.check()
    snapshot.locate([])  # the subject index's buckets
    snapshot.listed_records(0)  # the records behind denials
    if snapshot.metadata["measure_names"]:
        snapshot.decision(0, snapshot.metadata["measure_names"][0])
