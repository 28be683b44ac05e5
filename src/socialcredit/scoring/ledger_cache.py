"""The scoring cache: the ledger's data files decoded once into compact arrays.

Ledger data files never change once committed, so what a scoring run needs from each
(subject row, record type, date, amount, flags, key hashes, record IDs) is decoded the
first time a run sees the file and kept beside the ledger, memory-mappable, with each
file's records in the order of their subjects' rows (so that a run walking the
subjects reads every file forwards):

```
DATA/scoring-cache/REGISTRY                  the current generation
DATA/scoring-cache/gen-<id>/files.json       the subjects data files, in row order
DATA/scoring-cache/gen-<id>/parts/<file>/    one subjects data file: subject_id.arrow,
      kind.npy, region.npy, key1.npy, key2.npy, done  (rows in file order)
DATA/scoring-cache/gen-<id>/index-<files>.npy   sorted (key1, key2, row) of them all
DATA/scoring-cache/gen-<id>/records/<file>/  one records data file:
      subject.npy type.npy occurred.npy amount.npy flags.npy key1.npy revokes.npy
      row.npy record_id.arrow meta.json   (rows in subject order; row: the file's row;
                                           meta.json written last)
```
Subjects get dense rows in the ledger's order of the subjects' data files (the earliest
``recorded_at`` of each file, then its name: the Delta log holds both), so the rows are
a function of the table version alone, and rows already given never move when
subjects are registered. A generation is one such numbering; a compaction of the
subjects table (its files replaced) starts a new one, and every records entry is made
again for it. Every entry is written to a temporary name and renamed: a killed run
leaves either a complete entry or none; an entry whose files are missing or of the
wrong length is made again from the ledger.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.ledger.hashing import record_keys
from socialcredit.ledger.runs import entries, merge_runs
from socialcredit.scoring.decode import (
    RECORD_INPUTS,
    concat_or_empty,
    decode_records,
    decode_subjects,
    take_strings,
)
from socialcredit.scoring.engine_kernels import cluster_kernel
from socialcredit.scoring.subject_index import SubjectIndex

CACHE_FORMAT = 4
RECORD_COLUMNS = ("subject", "type", "occurred", "amount", "flags", "key1")


def _save_arrow(path: Path, array: pa.Array) -> None:
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, pa.schema([pa.field("v", array.type)])) as writer,
    ):
        writer.write_table(pa.table({"v": array}))


def load_arrow(path: Path) -> pa.ChunkedArray:
    with pa.memory_map(str(path)) as source:
        column: pa.ChunkedArray = pa.ipc.open_file(source).read_all().column(0)
    return column


def _load(path: Path, name: str) -> npt.NDArray[Any]:
    loaded: npt.NDArray[Any] = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
    return loaded


def _publish(temporary: Path, final: Path) -> None:
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)


@dataclass
class Registry:
    """The registered subjects of one subjects-table version, in dense rows."""

    index: SubjectIndex
    kind: npt.NDArray[np.uint8]
    region: npt.NDArray[np.int32]
    subject_id: pa.ChunkedArray
    generation: str

    def __len__(self) -> int:
        return len(self.kind)


@dataclass
class RecordPart:
    """One records data file, decoded: arrays ``subject`` (int32), ``type`` (int16, an
    index into ``types``), ``occurred`` (int32), ``amount`` (float64), ``flags``
    (uint8), ``key1`` (uint64), and ``revokes`` (key1 of the records its rows revoke)."""

    directory: Path
    rows: int
    types: list[str]

    def record_ids(self, positions: npt.NDArray[np.int64]) -> pa.Array:
        """The IDs of the records at ``positions`` (read only for the few IDs a snapshot
        names: the Arrow file keeps them in the data file's order, ``row`` maps to it)."""
        rows = self.array("row")[positions].astype(np.int64)
        return take_strings(load_arrow(self.directory / "record_id.arrow"), rows)

    def array(self, name: str) -> npt.NDArray[Any]:
        return _load(self.directory, name)

    def read_into(self, name: str, out: npt.NDArray[Any]) -> None:
        """Read a column straight into ``out`` (a plain read: faster than faulting in
        the pages of a memory map, for data read once)."""
        with open(self.directory / f"{name}.npy", "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(handle)
            if shape != (len(out),) or dtype != out.dtype:
                raise ValueError(f"{self.directory.name}/{name}: unexpected {shape} {dtype}")
            if handle.readinto(out.data.cast("B")) != out.nbytes:
                raise ValueError(f"{self.directory.name}/{name}: shorter than its header says")


class ScoringCache:
    def __init__(self, data: Path) -> None:
        self.root = data / "scoring-cache"

    def remove_leftovers(self) -> None:
        """Temporaries of killed runs (call with the scoring lock held)."""
        for pattern in (".*", "*/.*", "*/*/.*"):
            for path in self.root.glob(pattern):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ subjects

    def registry(self, files: list[str], latest: bool) -> Registry:
        """The subjects of a version whose data files are ``files`` (paths, in the
        ledger's order: see ``ledger_view.ordered_files``). ``latest``: the table's
        latest version, whose generation becomes the current one."""
        names = [Path(f).name for f in files]
        by_name = dict(zip(names, files, strict=True))
        generation = None
        for candidate in self._generations():
            order = self._order(candidate)
            if order is None:
                continue
            if names[: len(order)] == order or order[: len(names)] == names:
                generation = candidate
                break
        if generation is None:  # first run, or a compacted registry: a new generation
            digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
            generation = f"gen-{digest}"
        order = self._order(generation) or []
        for name in names:  # (made when new or damaged)
            self._subject_part(generation, name, by_name[name])
        if len(names) > len(order):  # new files: their subjects get the next rows
            self._write(self.root / generation / "files.json", json.dumps(names))
        if latest:
            self._write(self.root / "REGISTRY", generation + "\n")
            for stale in self._generations()[1:]:  # their entries no longer serve
                shutil.rmtree(self.root / stale, ignore_errors=True)
        return self._registry_of(generation, names)

    def _generations(self) -> list[str]:
        """The current generation first, then any other."""
        try:
            current = (self.root / "REGISTRY").read_text("utf-8").strip()
        except OSError:
            current = ""
        others = sorted(p.name for p in self.root.glob("gen-*") if p.name != current)
        return ([current] if current and (self.root / current).is_dir() else []) + others

    def _order(self, generation: str) -> list[str] | None:
        try:
            order = json.loads((self.root / generation / "files.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return [str(name) for name in order] if isinstance(order, list) else None

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(text, "utf-8")
        os.replace(temporary, path)

    def _subject_part(self, generation: str, name: str, path: str) -> Path:
        final = self.root / generation / "parts" / name
        if _subject_part_ok(final):
            return final
        temporary = final.with_name(f".{name}.{os.getpid()}")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        table = pq.read_table(path, columns=["subject_id", "kind", "region"])
        _save_arrow(temporary / "subject_id.arrow", table.column("subject_id").combine_chunks())
        kind, region = decode_subjects(table)
        np.save(temporary / "kind.npy", kind)
        np.save(temporary / "region.npy", region)
        key1, key2 = record_keys(table.column("subject_id"))
        np.save(temporary / "key1.npy", key1)
        np.save(temporary / "key2.npy", key2)
        (temporary / "done").write_text(f"{table.num_rows}\n")
        _publish(temporary, final)
        return final

    def _registry_of(self, generation: str, order: list[str]) -> Registry:
        directory = self.root / generation
        parts = [directory / "parts" / name for name in order]
        sizes = [len(_load(part, "kind")) for part in parts]
        rows = sum(sizes)
        index_path = directory / f"index-{len(order)}.npy"
        try:
            run = np.load(index_path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            run = None
        if run is None or run.shape != (3, rows):
            runs = []
            start = 0
            for part, size in zip(parts, sizes, strict=True):
                positions = np.arange(start, start + size, dtype=np.uint64)
                runs.append(entries(_load(part, "key1"), _load(part, "key2"), positions))
                start += size
            run = merge_runs(runs)
            temporary = directory / f".index.{os.getpid()}.npy"
            np.save(temporary, run)
            os.replace(temporary, index_path)
        ids = [chunk for part in parts for chunk in load_arrow(part / "subject_id.arrow").chunks]
        return Registry(
            index=SubjectIndex.of_run(np.asarray(run)),
            kind=concat_or_empty([_load(part, "kind") for part in parts], np.uint8),
            region=concat_or_empty([_load(part, "region") for part in parts], np.int32),
            subject_id=pa.chunked_array(ids, pa.string()),
            generation=generation,
        )

    # ------------------------------------------------------------------- records

    def record_part(self, path: str, registry: Registry, remake: bool = False) -> RecordPart:
        """The entry of a records data file, made if missing, stale or ``remake``."""
        name = Path(path).name
        final = self.root / registry.generation / "records" / name
        meta = _read_meta(final)
        stale = remake or meta is None or meta.get("generation") != registry.generation
        stale = stale or not _record_part_ok(final, meta)
        if not stale and meta is not None and meta["unregistered"]:
            # rows whose subject was unknown: registered since? (rare: records are
            # normally ingested after their subjects)
            stale = meta["subjects"] < len(registry)
        if stale:
            self._build_record_part(path, final, registry)
        meta = _read_meta(final) or {}
        return RecordPart(final, int(meta["rows"]), list(meta["types"]))

    def _build_record_part(self, path: str, final: Path, registry: Registry) -> None:
        temporary = final.with_name(f".{final.name}.{os.getpid()}")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        table = pq.read_table(path, columns=list(RECORD_INPUTS), read_dictionary=["record_type"])
        decoded = decode_records(table, registry.index)
        subject = decoded.subject
        values: dict[str, npt.NDArray[Any]] = {
            "subject": subject,
            "type": decoded.type_index,
            "occurred": decoded.occurred,
            "amount": decoded.amount,
            "flags": decoded.flags,
            "key1": decoded.key1,
            "revokes": decoded.revokes,
        }
        # rows in subject order (stable): a run then reads each file's records as one
        # forward stream while it walks the subjects
        # (a counting sort: stable, records of no subject last)
        _, order = cluster_kernel()(subject, len(registry))
        for key, array in values.items():
            np.save(temporary / f"{key}.npy", array if key == "revokes" else array[order])
        # the IDs stay in file order (permuting strings is slow); ``row`` maps to them
        np.save(temporary / "row.npy", order.astype(np.int32))
        _save_arrow(temporary / "record_id.arrow", table.column("record_id").combine_chunks())
        meta = {
            "format": CACHE_FORMAT,
            "generation": registry.generation,
            "subjects": len(registry),
            "unregistered": int((subject < 0).sum()),
            "rows": table.num_rows,
            "types": decoded.type_names,
        }
        (temporary / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
        _publish(temporary, final)


def _arrays_ok(directory: Path, names: tuple[str, ...], rows: int) -> bool:
    """Each array there with ``rows`` rows (a memory map checks the file's length)."""
    try:
        return all(len(_load(directory, name)) == rows for name in names)
    except (OSError, ValueError):
        return False


def _arrow_rows(path: Path) -> int:
    try:
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    except (OSError, pa.ArrowException):
        return -1


def _record_part_ok(directory: Path, meta: dict[str, Any] | None) -> bool:
    if meta is None:
        return False
    rows = int(meta.get("rows", -1))
    if not _arrays_ok(directory, (*RECORD_COLUMNS, "row"), rows):
        return False
    try:
        _load(directory, "revokes")
    except (OSError, ValueError):
        return False
    return _arrow_rows(directory / "record_id.arrow") == rows


def _subject_part_ok(directory: Path) -> bool:
    try:
        rows = int((directory / "done").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    arrays = ("kind", "region", "key1", "key2")
    return (
        _arrays_ok(directory, arrays, rows) and _arrow_rows(directory / "subject_id.arrow") == rows
    )


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta: dict[str, Any] = json.loads((path / "meta.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return meta if meta.get("format") == CACHE_FORMAT else None
