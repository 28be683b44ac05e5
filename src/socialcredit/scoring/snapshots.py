"""Published snapshots: a directory per snapshot, an atomic ``CURRENT`` pointer,
retention, and a reader that answers look-ups from memory-mapped arrays.

```
DATA/snapshots/<id>/            a complete, checked snapshot (see snapshot_files)
DATA/snapshots/CURRENT          the id of the snapshot in service
DATA/snapshots/.building-<id>/  a run in progress (removed by the next run if killed)
DATA/snapshots/.lock            held by the one scoring run at a time
```
A run writes everything into its ``.building`` directory, writes ``metadata.json``
last, renames the directory to its id, re-opens and checks it, and only then replaces
``CURRENT`` (write a temporary file, fsync, rename). Killed at any moment, the run
leaves ``CURRENT`` naming the previous snapshot, which is complete.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.measures import Decision
from socialcredit.scoring.ranking import RankTables
from socialcredit.scoring.snapshot_files import ARRAYS, subject_table_files, sync_file
from socialcredit.scoring.subject_index import SubjectIndex

T = TypeVar("T")
SNAPSHOT_FORMAT = 1
_ID = re.compile(r"^\d{6}-\d{8}T\d{6}Z$")


class SnapshotError(Exception):
    """No snapshot, or one that cannot be used."""


@dataclass
class SnapshotStore:
    root: Path

    @classmethod
    def of(cls, data: Path) -> SnapshotStore:
        return cls(data / "snapshots")

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if _ID.match(p.name) and p.is_dir())

    def current_id(self) -> str | None:
        try:
            text = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def next_id(self, now: dt.datetime) -> str:
        ids = self.ids()
        number = int(ids[-1].split("-")[0]) + 1 if ids else 1
        return f"{number:06d}-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"

    @contextmanager
    def publishing(self) -> Iterator[None]:
        """One scoring run at a time; leftovers of killed runs are removed first."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                for pattern in (".building-*", ".removed-*"):  # (of killed runs)
                    for stale in self.root.glob(pattern):
                        shutil.rmtree(stale, ignore_errors=True)
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def building(self, snapshot_id: str) -> Path:
        path = self.root / f".building-{snapshot_id}"
        path.mkdir(parents=True)
        return path

    def publish(self, building: Path, snapshot_id: str) -> Snapshot:
        """Move a complete snapshot into place, check it, then point ``CURRENT`` at it."""
        final = self.root / snapshot_id
        # on disk before anything points at it (the big files were synced as written)
        files = [path for path in building.rglob("*") if path.is_file()]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(sync_file, files))
        os.replace(building, final)
        _fsync_dir(self.root)
        try:
            snapshot = Snapshot.open(final)
            snapshot.check()
        except Exception:
            shutil.rmtree(final, ignore_errors=True)  # never listed, never served
            raise
        temporary = self.root / f".CURRENT.{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(snapshot_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.pointer)
        _fsync_dir(self.root)
        return snapshot

    def retain(self, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` snapshots (never the current one)."""
        current = self.current_id()
        ids = self.ids()
        doomed = [i for i in ids[: max(len(ids) - keep, 0)] if i != current]
        removed = []
        for snapshot_id in doomed:  # renamed away at once, deleted in the background
            target = self.root / f".removed-{snapshot_id}"
            os.replace(self.root / snapshot_id, target)
            removed.append(target)
        if removed:
            threading.Thread(target=_delete, args=(removed,), daemon=True).start()
        return doomed

    def open(self, snapshot_id: str | None = None) -> Snapshot:
        chosen = snapshot_id or self.current_id()
        if chosen is None:
            raise SnapshotError("no snapshot published yet: run `socialcredit score` first")
        if not _ID.match(chosen) or not (self.root / chosen).is_dir():
            raise SnapshotError(f"no snapshot {chosen!r} (see `socialcredit snapshot list`)")
        return Snapshot.open(self.root / chosen)

    def describe(self) -> list[dict[str, Any]]:
        current = self.current_id()
        out = []
        for snapshot_id in reversed(self.ids()):
            try:
                meta = read_metadata(self.root / snapshot_id)
            except SnapshotError as error:
                out.append({"snapshot": snapshot_id, "current": False, "error": str(error)})
                continue
            out.append(
                {"snapshot": snapshot_id, "current": snapshot_id == current}
                | {
                    key: meta[key]
                    for key in ("created_at", "as_of", "ledger_as_of", "subjects", "policy")
                }
            )
        return out


def _delete(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    path = directory / "metadata.json"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(metadata | {"format": SNAPSHOT_FORMAT}, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def read_metadata(directory: Path) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads((directory / "metadata.json").read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise SnapshotError(f"{directory.name}: unreadable metadata: {error}") from error
    if meta.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"{directory.name}: snapshot format {meta.get('format')!r} unknown")
    return meta


class Snapshot:
    """A published snapshot, its arrays memory-mapped (opening reads no subject data)."""

    def __init__(self, path: Path, metadata: dict[str, Any]) -> None:
        self.path = path
        self.metadata = metadata
        self.id: str = path.name
        self._arrays: dict[str, npt.NDArray[Any]] = {}
        self._rows_on: dict[str, npt.NDArray[np.int64]] = {}
        self._derived: dict[str, Any] = {}

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        return cls(path, read_metadata(path))

    def array(self, name: str) -> npt.NDArray[Any]:
        """The memory-mapped array (mapped once: a server asks for it on every request;
        the mapping outlives the snapshot's removal, so answers in flight finish)."""
        loaded = self._arrays.get(name)
        if loaded is None:
            loaded = np.load(
                self.path / "arrays" / f"{name}.npy", mmap_mode="r", allow_pickle=False
            )
            self._arrays[name] = loaded
        return loaded

    @cached_property
    def index(self) -> SubjectIndex:
        return SubjectIndex(self.array("keys1"), self.array("keys2"), self.array("key_rows"))

    @cached_property
    def ranks(self) -> RankTables:
        return RankTables.load(self.path / "ranks")

    def __len__(self) -> int:
        return int(self.metadata["subjects"])

    @cached_property
    def _decisions(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.path / "decisions.json").read_text("utf-8"))
        return loaded

    @cached_property
    def _measure_column(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self._decisions["measures"])}

    def decision(self, combo: int, measure: str) -> Decision:
        """The decision on ``measure`` for subjects of combination ``combo`` (their
        variant, kind, grade and lists). KeyError for a measure the snapshot lacks."""
        allowed, reasons, detail = self._decisions["decisions"][combo][
            self._measure_column[measure]
        ]
        return Decision(measure, bool(allowed), tuple(reasons), str(detail))

    def check(self) -> None:
        """Every file there, every array and the table of the right length."""
        rows = len(self)
        for name in ARRAYS:
            if len(self.array(name)) != rows:
                raise SnapshotError(f"{self.id}: array {name} does not hold {rows} rows")
        table_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in self.table_files())
        if table_rows != rows:
            raise SnapshotError(f"{self.id}: the subject table holds {table_rows} rows, not {rows}")
        pq.ParquetFile(self.path / "listed.parquet")
        if self.publishes_records:
            pq.ParquetFile(self.path / "published.parquet")
        self.ranks.lookup_one(int(self.metadata["scale"]["base"]), 110101, 0)

    def table_files(self) -> list[Path]:
        """The per-subject table's Parquet files, in row order."""
        return subject_table_files(self.path / "subjects")

    def subject_table(self, columns: list[str] | None = None) -> pa.Table:
        return pa.concat_tables(pq.read_table(f, columns=columns) for f in self.table_files())

    def locate(self, subject_ids: list[str] | pa.Array) -> npt.NDArray[np.int32]:
        """Rows of the subjects (-1 where not in the snapshot)."""
        array = subject_ids if isinstance(subject_ids, pa.Array) else pa.array(subject_ids)
        return self.index.locate(array.cast(pa.string()))

    def listed_records(self, row: int) -> list[tuple[str, str]]:
        """(list, record_id) of the records behind the subject's list memberships."""
        rows, names, records = self._listed
        low, high = np.searchsorted(rows, [row, row + 1])
        return [(str(names[i]), str(records[i])) for i in range(int(low), int(high))]

    def derived(self, name: str, make: Callable[[], T]) -> T:
        """What ``make`` derives from this snapshot, made once and kept as long as the
        snapshot (a server's per-snapshot answers: dropped with it when a new one is
        served)."""
        if name not in self._derived:
            self._derived[name] = make()
        found: T = self._derived[name]
        return found

    def rows_on(self, list_name: str) -> npt.NDArray[np.int64]:
        """The rows of the subjects on ``list_name``, ascending (found once per list:
        public list pages ask for them again and again)."""
        found = self._rows_on.get(list_name)
        if found is None:
            bit = np.uint8(1 << self.metadata["list_names"].index(list_name))
            found = self._rows_on[list_name] = np.flatnonzero(self.array("lists") & bit)
        return found

    @property
    def publishes_records(self) -> bool:
        """Whether the snapshot holds organisations' published records (snapshots made
        before they were written do not)."""
        return (self.path / "published.parquet").is_file()

    def published_rows(self) -> npt.NDArray[np.int64]:
        """The rows of the organisations with published records, ascending."""
        return self._published[0]

    def published_records(self, row: int) -> list[tuple[str, bool]]:
        """(record_id, under objection) of an organisation's published records."""
        _, rows, table = self._published
        low, high = (int(i) for i in np.searchsorted(rows, [row, row + 1]))
        part = table.slice(low, high - low)
        return list(
            zip(
                (str(r) for r in part.column("record_id").to_pylist()),
                (bool(o) for o in part.column("under_objection").to_pylist()),
                strict=True,
            )
        )

    @cached_property
    def _published(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], pa.Table]:
        """published.parquet in memory: its distinct rows, its row of each record, and
        its records (kept as Arrow, not Python strings); empty when absent."""
        if not self.publishes_records:
            empty = np.empty(0, np.int64)
            schema = pa.schema([("record_id", pa.string()), ("under_objection", pa.bool_())])
            return empty, empty, schema.empty_table()
        table = pq.read_table(
            self.path / "published.parquet", columns=["row", "record_id", "under_objection"]
        )
        rows = table.column("row").to_numpy().astype(np.int64)
        return np.unique(rows), rows, table.drop_columns(["row"])

    @cached_property
    def _listed(self) -> tuple[npt.NDArray[np.int64], list[str], list[str]]:
        """listed.parquet in memory (rows ascending): it holds only listed subjects'
        records, and a server answers denials from it many times a second."""
        table = pq.read_table(self.path / "listed.parquet", columns=["row", "list", "record_id"])
        rows = table.column("row").to_numpy().astype(np.int64)
        return rows, table.column("list").to_pylist(), table.column("record_id").to_pylist()
