"""The scoring benchmark's ledgers, built once and kept (they take minutes to make).

``ledger(people, records)``: the generator's people (seed 1, persons only), and records
made from the generator's own records, repeated with new record IDs and dates moved
back a month per copy until there are ``records`` of them, all through the real
``register`` and ``ingest``. Kept in ``$SOCIALCREDIT_BENCH_DIR`` (default
``~/.cache/socialcredit-bench``) under a name that holds the sizes.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import load_catalog, shipped_policy_dir
from socialcredit.simulate import GenerateOptions, generate

AS_OF = dt.date(2026, 6, 30)


def bench_dir() -> Path:
    default = Path.home() / ".cache" / "socialcredit-bench"
    return Path(os.environ.get("SOCIALCREDIT_BENCH_DIR", default))


def ledger(people: int, records: int) -> Path:
    """The data dir of a ledger of ``people`` persons and ``records`` records."""
    root = bench_dir() / f"scoring-{people}-{records}"
    data = root / "data"
    if (root / "READY").is_file():
        return data
    shutil.rmtree(root, ignore_errors=True)
    catalog = load_catalog(shipped_policy_dir())
    generated = root / "generated"
    generate(
        GenerateOptions(people=people, organisations=0, seed=1, out=generated, as_of=AS_OF),
        catalog,
    )
    source = pq.read_table(generated / "records.parquet")
    inputs = []
    copy, made = 0, 0
    while made < records:
        part = source.slice(0, min(source.num_rows, records - made))
        inputs.append(_copy_of(part, copy, root / f"records-{copy}.parquet"))
        made += part.num_rows
        copy += 1
    del source
    store = Ledger.init(data)[0]
    run_batch(store, SUBJECTS, [open_input(generated / "subjects.parquet")], catalog=None)
    for path in inputs:
        summary = run_batch(store, RECORDS, [open_input(path)], catalog=catalog)
        if summary.rejected:
            raise RuntimeError(f"benchmark records rejected: {summary.quarantine}")
        path.unlink()
    (root / "READY").write_text("ok\n")
    return data


def _copy_of(part: pa.Table, copy: int, path: Path) -> Path:
    if copy:
        ids = pc.binary_join_element_wise(part.column("record_id"), f"C{copy}", "-")
        moved = pc.subtract(
            part.column("occurred_on").cast(pa.int32()), pa.scalar(30 * copy, pa.int32())
        ).cast(pa.date32())
        part = part.set_column(0, "record_id", ids)
        part = part.set_column(part.schema.get_field_index("occurred_on"), "occurred_on", moved)
    pq.write_table(part, path)
    return path
