from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from socialcredit.ledger import RECORDS, Ledger, UnusableInputError, open_input, run_batch
from socialcredit.ledger.ingest import CHINA_TIME
from socialcredit.policy import PolicyCatalog
from tests.ledger.conftest import ingest, records_table, stored


def test_generated_records_are_all_accepted_with_provenance(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    records = records_table(generated)
    summary = ingest(registered, shipped_catalog, generated / "records.parquet", source="court-A")
    assert (summary.accepted, summary.rejected, summary.duplicates) == (records.num_rows, 0, 0)
    assert summary.quarantine is None
    table = stored(registered)
    assert table.num_rows == records.num_rows
    assert set(table.column("source").to_pylist()) == {"court-A"}
    assert set(table.column("batch_id").to_pylist()) == {summary.batch_id}
    recorded = table.column("recorded_at")
    assert recorded.type.tz == "UTC"
    assert pc.min(recorded).as_py() > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    # the input columns are kept as given
    by_id = {r["record_id"]: r for r in table.select(records.column_names).to_pylist()}
    for row in records.slice(0, 500).to_pylist():
        assert by_id[row["record_id"]] == row


def test_ingesting_the_same_file_again_adds_nothing(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    first = ingest(registered, shipped_catalog, generated / "records.parquet")
    version = registered.version(RECORDS)
    again = ingest(registered, shipped_catalog, generated / "records.parquet")
    assert (again.accepted, again.rejected, again.duplicates) == (0, 0, first.accepted)
    assert again.version is None
    assert registered.version(RECORDS) == version  # no new commit
    assert stored(registered).num_rows == first.accepted


def test_the_same_rows_as_csv_and_json_lines_are_duplicates(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    records = records_table(generated).slice(0, 2000)
    parquet = tmp_path / "part.parquet"
    pq.write_table(records, parquet)
    ingest(registered, shipped_catalog, parquet)
    csv = tmp_path / "part.csv"
    pacsv.write_csv(records, csv)
    jsonl = tmp_path / "part.jsonl"
    with open(jsonl, "w", encoding="utf-8") as handle:
        for row in records.to_pylist():
            handle.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    for path in (csv, jsonl):
        summary = ingest(registered, shipped_catalog, path)
        assert (summary.accepted, summary.rejected, summary.duplicates) == (0, 0, 2000), path


def test_a_reused_record_id_with_other_content_is_a_conflict(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    records = records_table(generated).slice(0, 100)
    ingest(registered, shipped_catalog, _write(records, tmp_path / "a.parquet"))
    changed = records.set_column(
        records.schema.get_field_index("authority"),
        "authority",
        pa.array(["某某人民法院"] * 100),
    )
    summary = ingest(registered, shipped_catalog, _write(changed, tmp_path / "b.parquet"))
    assert (summary.accepted, summary.rejected, summary.duplicates) == (0, 100, 0)
    lines = _quarantine(summary.quarantine)
    assert len(lines) == 100
    assert lines[0]["reasons"] == [
        "record_id: already in the ledger with different content (conflict)"
    ]
    assert lines[0]["content"]["authority"] == "某某人民法院"
    assert lines[0]["row"] == 1


def test_repeats_within_a_batch(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    records = records_table(generated).slice(0, 10)
    changed = records.slice(0, 1).set_column(
        records.schema.get_field_index("decision_ref"), "decision_ref", pa.array(["(2024)改1号"])
    )
    batch = pa.concat_tables([records, records.slice(0, 3), changed])
    summary = ingest(registered, shipped_catalog, _write(batch, tmp_path / "r.parquet"))
    assert (summary.accepted, summary.duplicates, summary.rejected) == (10, 3, 1)
    # the reason names the earlier row by its row number in the file
    assert _quarantine(summary.quarantine)[0]["reasons"] == [
        "record_id: repeats row 1 of this file with different content (conflict)"
    ]
    assert _quarantine(summary.quarantine)[0]["row"] == 14


def test_every_bad_row_is_quarantined_with_every_reason(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    good = records_table(generated).filter(
        pc.equal(records_table(generated).column("record_type"), "court.judgment_default")
    )
    row: dict[str, str] = {k: "" if v is None else str(v) for k, v in good.to_pylist()[0].items()}
    today = dt.datetime.now(CHINA_TIME).date()  # the ledger dates records in China time
    bad_rows = {
        "bad check digit": {
            **row,
            "record_id": "x1",
            "subject_id": row["subject_id"][:17] + ("0" if row["subject_id"][17] != "0" else "1"),
        },
        "unknown type": {**row, "record_id": "x2", "record_type": "leisure.gaming_hours"},
        "future": {
            **row,
            "record_id": "x3",
            "occurred_on": (today + dt.timedelta(days=2)).isoformat(),
        },
        "too early": {**row, "record_id": "x4", "occurred_on": "1949-09-30"},
        "not a date": {**row, "record_id": "x5", "occurred_on": "2024-02-30"},
        "no decision ref": {**row, "record_id": "x6", "decision_ref": ""},
        "bad amount": {**row, "record_id": "x7", "amount": "lots"},
        "bad jurisdiction": {**row, "record_id": "x8", "jurisdiction": "999999"},
        "two problems": {**row, "record_id": "x9", "record_type": "", "occurred_on": "yesterday"},
    }
    rows = [row | {"record_id": "ok-1"}, *bad_rows.values(), row | {"record_id": "ok-2"}]
    path = tmp_path / "bad.csv"
    pacsv.write_csv(pa.Table.from_pylist(rows), path)
    summary = ingest(registered, shipped_catalog, path)
    assert (summary.accepted, summary.rejected, summary.duplicates) == (2, len(bad_rows), 0)
    reasons = {
        line["content"]["record_id"]: line["reasons"] for line in _quarantine(summary.quarantine)
    }
    assert reasons["x1"][0].startswith("subject_id: ")
    assert reasons["x2"] == [
        "record_type: 'leisure.gaming_hours' is not in the policy for jurisdiction "
        + str(row["jurisdiction"])
    ]
    assert reasons["x3"] == [f"occurred_on: after {today.isoformat()} (in the future)"]
    assert reasons["x4"] == ["occurred_on: before 1949-10-01"]
    assert reasons["x5"] == ["occurred_on: '2024-02-30' is not a date (YYYY-MM-DD)"]
    assert reasons["x6"] == ["decision_ref: required for the record type court.judgment_default"]
    assert reasons["x7"] == ["amount: 'lots' is not a number"]
    assert reasons["x8"] == ["jurisdiction: '999999' is not a known 6-digit region code"]
    assert sorted(reasons["x9"]) == [
        "occurred_on: 'yesterday' is not a date (YYYY-MM-DD)",
        "record_type: missing",
    ]


def test_amount_bounds_and_kinds_of_the_type(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    records = records_table(generated)
    subjects = pq.read_table(generated / "subjects.parquet")
    org = (
        subjects.filter(pc.equal(subjects.column("kind"), "organisation"))
        .column("subject_id")[0]
        .as_py()
    )
    hours = (
        records.filter(pc.equal(records.column("record_type"), "civic.volunteer_hour"))
        .slice(0, 1)
        .to_pylist()[0]
    )
    policy = shipped_catalog.effective(hours["jurisdiction"]).record_types["civic.volunteer_hour"]
    assert policy.amount_max is not None
    rows = [
        hours | {"record_id": "h1", "amount": policy.amount_max + 1},
        hours | {"record_id": "h2", "amount": None},
    ]
    blood = shipped_catalog.effective(None).record_types["civic.blood_donation"]
    assert "organisation" not in blood.subject_kinds
    rows.append(
        hours
        | {
            "record_id": "h3",
            "subject_id": org,
            "record_type": "civic.blood_donation",
            "amount": None,
        }
    )
    summary = ingest(
        registered,
        shipped_catalog,
        _write(pa.Table.from_pylist(rows, records.schema), tmp_path / "h.parquet"),
    )
    reasons = {
        line["content"]["record_id"]: line["reasons"] for line in _quarantine(summary.quarantine)
    }
    assert reasons["h1"] == [
        f"amount: {policy.amount_max + 1:g} is above the maximum {policy.amount_max:g}"
    ]
    if policy.points_per_unit is not None:
        assert reasons["h2"] == ["amount: required by civic.volunteer_hour (points per unit)"]
    assert reasons["h3"] == [
        "subject_id: an organisation cannot have a civic.blood_donation record"
    ]


def test_unknown_subjects_are_rejected_unless_registered_on_the_way(
    ledger: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    records = records_table(generated)
    summary = ingest(ledger, shipped_catalog, generated / "records.parquet")
    assert summary.accepted == 0
    assert summary.rejected == records.num_rows
    first = _quarantine(summary.quarantine)[0]
    assert first["reasons"] == [
        "subject_id: not registered (register it first, or ingest with --register-unknown)"
    ]
    summary = ingest(ledger, shipped_catalog, generated / "records.parquet", register_unknown=True)
    assert summary.accepted == records.num_rows
    distinct = pc.count_distinct(records.column("subject_id")).as_py()
    assert summary.registered == distinct
    registry = stored(ledger, "subjects")
    assert registry.num_rows == distinct
    person = registry.filter(pc.equal(registry.column("kind"), "person")).to_pylist()[0]
    assert person["region"] == person["subject_id"][:6]
    assert person["birth_date"].strftime("%Y%m%d") == person["subject_id"][6:14]


def test_revocations_name_a_record_that_exists(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    records = records_table(generated).slice(0, 5)
    ingest(registered, shipped_catalog, _write(records, tmp_path / "a.parquet"))
    template = records.to_pylist()[0]
    rows = [
        template | {"record_id": "rev-1", "revokes": template["record_id"]},
        template | {"record_id": "rev-2", "revokes": "no-such-record"},
    ]
    table = pa.Table.from_pylist(rows)
    summary = ingest(registered, shipped_catalog, _write(table, tmp_path / "rev.parquet"))
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert _quarantine(summary.quarantine)[0]["reasons"] == [
        "revokes: no record 'no-such-record' in the ledger or this batch"
    ]
    assert stored(registered).filter(
        pc.equal(stored(registered).column("record_id"), "rev-1")
    ).column("revokes").to_pylist() == [template["record_id"]]


def test_missing_required_columns_refuse_the_whole_file(
    registered: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    table = records_table(generated).drop_columns(["occurred_on", "authority"])
    path = _write(table, tmp_path / "r.parquet")
    with pytest.raises(
        UnusableInputError, match="missing required columns: occurred_on, authority"
    ):
        run_batch(registered, RECORDS, [open_input(path)], catalog=shipped_catalog)
    assert registered.version(RECORDS) == 0


def test_unknown_extra_columns_are_ignored_with_a_warning(
    registered: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    table = records_table(generated).slice(0, 10).append_column("note", pa.array(["x"] * 10))
    summary = ingest(registered, shipped_catalog, _write(table, tmp_path / "r.parquet"))
    assert summary.accepted == 10
    assert summary.warnings == [f"{tmp_path / 'r.parquet'}: unknown columns ignored: note"]
    assert "note" not in stored(registered).column_names


def _write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def _quarantine(path: str | None) -> list[dict[str, Any]]:
    assert path is not None
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_an_unusable_later_file_refuses_the_whole_batch(
    registered: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"record_id": "x"}\n', encoding="utf-8")
    sources = [open_input(generated / "records.parquet"), open_input(bad)]
    with pytest.raises(UnusableInputError, match=r"bad\.jsonl: missing required columns"):
        run_batch(registered, RECORDS, sources, catalog=shipped_catalog)
    assert registered.version(RECORDS) == 0  # the good file's rows did not land either
    assert not list((registered.quarantine).glob("*"))
    again = ingest(registered, shipped_catalog, generated / "records.parquet")
    assert again.duplicates == 0


def test_review_findings_are_handled(
    registered: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    records = records_table(generated)
    row = records.filter(
        pc.equal(records.column("record_type"), "court.judgment_default")
    ).to_pylist()[0]
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    bad_id = row["subject_id"][:17] + ("0" if row["subject_id"][17] != "0" else "1")
    rows = [
        row | {"record_id": "keep", "revokes": None},
        row | {"record_id": "self", "revokes": "self"},
        row | {"record_id": "gone", "authority": None},  # rejected: cannot be revoked
        row | {"record_id": "rev-gone", "revokes": "gone"},
        row | {"record_id": "rev-keep", "revokes": "keep"},
        row | {"record_id": "two", "subject_id": bad_id, "occurred_on": future},
    ]
    table = pa.Table.from_pylist(
        [{k: (str(v) if isinstance(v, dt.date) else v) for k, v in r.items()} for r in rows]
    )
    summary = ingest(registered, shipped_catalog, _write(table, tmp_path / "r.parquet"))
    reasons = {
        line["content"]["record_id"]: line["reasons"] for line in _quarantine(summary.quarantine)
    }
    assert reasons["self"] == ["revokes: a record cannot revoke itself"]
    assert reasons["gone"] == ["authority: missing"]
    assert reasons["rev-gone"] == ["revokes: no record 'gone' in the ledger or this batch"]
    assert len(reasons["two"]) == 2  # every reason: the ID and the date
    assert (summary.accepted, summary.rejected) == (2, 4)


def test_dictionary_columns_and_huge_integers_do_not_crash(
    registered: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    records = records_table(generated).slice(0, 2)
    authority = pa.array(["", "某某法院"]).dictionary_encode()
    table = records.set_column(records.schema.get_field_index("authority"), "authority", authority)
    table = table.set_column(
        table.schema.get_field_index("amount"), "amount", pa.array([2**60, None], pa.int64())
    )
    summary = ingest(registered, shipped_catalog, _write(table, tmp_path / "d.parquet"))
    assert summary.accepted + summary.rejected + summary.duplicates == 2
    reasons = {
        line["content"]["record_id"]: line["reasons"] for line in _quarantine(summary.quarantine)
    }
    assert "authority: missing" in reasons[records.column("record_id")[0].as_py()]


def test_a_lone_surrogate_in_json_lines_is_quarantined(
    registered: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    path = tmp_path / "s.jsonl"
    row = {
        k: (str(v) if v is not None else None)
        for k, v in records_table(generated).to_pylist()[0].items()
    }
    path.write_text(
        json.dumps(row)
        + "\n"
        + json.dumps(row | {"authority": "x"}).replace('"x"', '"\\ud800"')
        + "\n",
        encoding="utf-8",
    )
    summary = ingest(registered, shipped_catalog, path)
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert _quarantine(summary.quarantine)[0]["reasons"] == ["not valid UTF-8 (a lone surrogate)"]


def test_register_unknown_registers_only_subjects_of_kept_rows(
    ledger: Ledger, generated: Path, tmp_path: Path, shipped_catalog: PolicyCatalog
) -> None:
    records = records_table(generated)
    kept = records.slice(0, 1)
    others = records.filter(
        pc.not_equal(records.column("subject_id"), kept.column("subject_id")[0])
    )
    rejected = others.slice(0, 1).set_column(
        records.schema.get_field_index("occurred_on"), "occurred_on", pa.array([None], pa.date32())
    )
    summary = ingest(
        ledger,
        shipped_catalog,
        _write(pa.concat_tables([kept, rejected]), tmp_path / "u.parquet"),
        register_unknown=True,
    )
    assert (summary.accepted, summary.rejected) == (1, 1)
    registry = stored(ledger, "subjects").column("subject_id").to_pylist()
    assert registry == [kept.column("subject_id")[0].as_py()]
    assert summary.registered == 1


def test_a_source_name_must_be_short(
    registered: Ledger, generated: Path, shipped_catalog: PolicyCatalog
) -> None:
    with pytest.raises(UnusableInputError, match="--source"):
        ingest(registered, shipped_catalog, generated / "records.parquet", source="x" * 201)
    assert stored(registered).num_rows == 0
    summary = ingest(registered, shipped_catalog, generated / "records.parquet", source="法院")
    assert set(stored(registered).column("source").to_pylist()) == {"法院"}
    assert summary.rejected == 0


def test_a_constant_column_too_large_for_string_offsets_is_refused() -> None:
    from socialcredit.ledger.ingest import _constant

    with pytest.raises(ValueError, match="2 GiB"):
        _constant("x" * 200, 11_000_000)  # refused before anything is allocated
    assert _constant("王", 3).to_pylist() == ["王"] * 3
