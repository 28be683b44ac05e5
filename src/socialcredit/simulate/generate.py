"""``socialcredit generate``: a synthetic population and its records, as Parquet files.

Chunks (see :mod:`socialcredit.simulate.chunks`) are generated in worker processes
and written here in chunk order, so the output depends only on the arguments. Files
are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from socialcredit.policy import PolicyCatalog
from socialcredit.simulate.chunks import (
    ChunkResult,
    Plan,
    generate_chunk,
    plan_chunks,
)
from socialcredit.simulate.schema import (
    COMPRESSIONS,
    RECORD_WRITE_SCHEMA,
    RECORDS_FILE,
    SUBJECT_WRITE_SCHEMA,
    SUBJECTS_FILE,
    GenerateError,
    GenerateOptions,
)

EARLIEST_AS_OF = dt.date(2000, 1, 1)
#: capacity: 10 parts per county of 50 sequence numbers per sex and day
MAX_PEOPLE = 2_000_000_000
#: old-style organisation codes are a bijection of the index modulo 10**8
MAX_ORGANISATIONS = 100_000_000

#: dictionary-encode only the columns with few distinct values (chunks hold them as
#: dictionary arrays, written as they are); statistics only where they are cheap and
#: useful for pruning: dates (string statistics on unique IDs cost a third of the
#: writing time, and those of dictionary columns a hash pass each). The Arrow schema is
#: not stored, so readers see plain strings, as the contract says, and not the
#: dictionary types of the chunks.
_WRITE_OPTIONS: dict[str, object] = {
    "use_dictionary": ["kind", "region", "record_type", "authority", "jurisdiction"],
    "write_statistics": ["occurred_on", "birth_date", "registered_on"],
    "store_schema": False,
}


@dataclass
class GenerateSummary:
    people: int = 0
    organisations: int = 0
    records: int = 0
    records_by_type: Counter[str] = field(default_factory=Counter)
    records_by_kind: Counter[str] = field(default_factory=Counter)
    subjects_file: str = ""
    records_file: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "people": self.people,
            "organisations": self.organisations,
            "records": self.records,
            "records_by_kind": dict(sorted(self.records_by_kind.items())),
            "records_by_type": dict(sorted(self.records_by_type.items())),
            "subjects_file": self.subjects_file,
            "records_file": self.records_file,
            "seconds": round(self.seconds, 3),
        }

    def add(self, result: ChunkResult) -> None:
        self.people += result.people
        self.organisations += result.organisations
        self.records += sum(table.num_rows for table in result.records)
        self.records_by_kind.update(result.records_by_kind)
        self.records_by_type.update(result.records_by_type)


def check_options(options: GenerateOptions) -> None:
    """Refuse bad arguments (GenerateError); touches nothing on disk."""
    if not 0 < options.people <= MAX_PEOPLE:
        raise GenerateError(
            f"--people must be a positive number up to {MAX_PEOPLE:,}, got {options.people}"
        )
    if options.organisations is not None and not 0 <= options.organisations <= MAX_ORGANISATIONS:
        raise GenerateError(
            f"--organisations must be 0 or more, up to {MAX_ORGANISATIONS:,} (the unique "
            f"organisation codes), got {options.organisations}"
        )
    if options.seed < 0:
        raise GenerateError(f"--seed must be 0 or more, got {options.seed}")
    if options.compression not in COMPRESSIONS:
        raise GenerateError(
            f"--compression {options.compression!r}: expected one of {', '.join(COMPRESSIONS)}"
        )
    if options.as_of > dt.date.today():
        raise GenerateError(f"--as-of {options.as_of} is in the future")
    if options.as_of < EARLIEST_AS_OF:
        raise GenerateError(
            f"--as-of {options.as_of} is before {EARLIEST_AS_OF}: 18-character resident IDs "
            "and the record types of the shipped policies are from later"
        )


def plan_run(options: GenerateOptions, catalog: PolicyCatalog) -> Plan:
    """Check the arguments and that the policy fits the calibration, then make the
    output directory (nothing is created when a check fails)."""
    check_options(options)
    try:
        plan = Plan.of(options, catalog)
    except ValueError as error:  # the calibration names a type the policy lacks
        raise GenerateError(f"the policy does not fit the calibration: {error}") from error
    _prepare_out(options)
    return plan


def _prepare_out(options: GenerateOptions) -> None:
    out = options.out
    if out.exists() and not out.is_dir():
        raise GenerateError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenerateError(f"--out {out}: cannot create it ({error.strerror})") from error
    if not os.access(out, os.W_OK | os.X_OK):
        raise GenerateError(f"--out {out} is not writable")
    existing = [name for name in (SUBJECTS_FILE, RECORDS_FILE) if (out / name).exists()]
    if existing and not options.force:
        raise GenerateError(
            f"{', '.join(str(out / n) for n in existing)} already exist: use --force to replace"
        )


def generate(
    options: GenerateOptions,
    catalog: PolicyCatalog,
    progress: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Write ``subjects.parquet`` and ``records.parquet`` in ``options.out``."""
    started = time.perf_counter()
    plan = plan_run(options, catalog)
    summary = GenerateSummary()
    subjects_path, records_path = options.out / SUBJECTS_FILE, options.out / RECORDS_FILE
    subjects_tmp = subjects_path.with_name(f".{SUBJECTS_FILE}.{os.getpid()}.tmp")
    records_tmp = records_path.with_name(f".{RECORDS_FILE}.{os.getpid()}.tmp")
    try:
        # encoding runs in a writer thread (Arrow releases the GIL) while the next chunk
        # is generated; at most two chunks wait for it, so memory stays bounded. (A third
        # thread assembling columns apart from the draws was measured: no faster on two
        # cores.)
        with (
            pq.ParquetWriter(
                subjects_tmp,
                SUBJECT_WRITE_SCHEMA,
                compression=options.compression,
                **_WRITE_OPTIONS,
            ) as subjects_out,
            pq.ParquetWriter(
                records_tmp, RECORD_WRITE_SCHEMA, compression=options.compression, **_WRITE_OPTIONS
            ) as records_out,
            ThreadPoolExecutor(max_workers=1) as writer,
        ):
            written: deque[Future[None]] = deque()
            for result in _results(plan):
                while len(written) >= 2:
                    written.popleft().result()
                written.append(writer.submit(_write, subjects_out, records_out, result))
                summary.add(result)
                if progress is not None:
                    progress(result.people)
            while written:
                written.popleft().result()
        # each file is replaced whole; the two renames together are not atomic
        os.replace(records_tmp, records_path)
        os.replace(subjects_tmp, subjects_path)
    except OSError as error:
        raise GenerateError(f"cannot write in {options.out}: {error.strerror or error}") from error
    finally:
        for leftover in (subjects_tmp, records_tmp):
            leftover.unlink(missing_ok=True)
    summary.subjects_file, summary.records_file = str(subjects_path), str(records_path)
    summary.seconds = time.perf_counter() - started
    return summary


def _write(
    subjects_out: pq.ParquetWriter, records_out: pq.ParquetWriter, result: ChunkResult
) -> None:
    # the dictionaries of a chunk depend only on the chunk (see frames.py), so the
    # bytes written do not depend on the process that made it
    subjects_out.write_table(result.subjects)
    for table in result.records:
        records_out.write_table(table)


_worker_plan: Plan | None = None


def _init_worker(plan: Plan) -> None:
    global _worker_plan
    _worker_plan = plan


def _run_chunk(chunk: object) -> ChunkResult:
    from socialcredit.simulate.chunks import Chunk

    if _worker_plan is None or not isinstance(chunk, Chunk):
        raise RuntimeError("worker started without its plan")
    return generate_chunk(_worker_plan, chunk)


def _worker_count(options: GenerateOptions) -> int:
    if options.workers is not None:
        return options.workers
    cores = os.cpu_count() or 1
    if options.people <= 2 * options.chunk_people or cores <= 2:
        # starting processes costs more than it saves; on two cores the writer thread
        # and one generating thread already use the machine (measured: docs/benchmarks.md)
        return 0
    return min(cores - 1, 8)


def _results(plan: Plan) -> Iterator[ChunkResult]:
    """Chunk results in chunk order; at most two per worker wait (bounded memory)."""
    workers = _worker_count(plan.options)
    if workers == 0:
        for chunk in plan_chunks(plan.options):
            yield generate_chunk(plan, chunk)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(plan,)
    ) as pool:
        pending: deque[Future[ChunkResult]] = deque()
        for chunk in plan_chunks(plan.options):
            pending.append(pool.submit(_run_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
