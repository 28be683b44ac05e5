"""On the generator's 200,000-person population: the discredited share lands within the
generator's stated tolerance of 1%, and every discredited person is denied flights and
high-speed rail (from the published table and through a check)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
from socialcredit.policy import PolicyCatalog
from socialcredit.scoring.run import ScoreRequest, run_scoring
from tests.populations import AS_OF, Generated


def test_discredited_share_and_their_restrictions(
    population: Generated, shipped_catalog: PolicyCatalog, tmp_path: Path
) -> None:
    ledger = Ledger.init(tmp_path / "data")[0]
    run_batch(ledger, SUBJECTS, [open_input(population.out / "subjects.parquet")], catalog=None)
    records = [open_input(population.out / "records.parquet")]
    assert run_batch(ledger, RECORDS, records, catalog=shipped_catalog).rejected == 0
    request = ScoreRequest(AS_OF, dt.datetime.now(dt.UTC))
    snapshot = run_scoring(ledger.data, shipped_catalog, request).snapshot
    table = snapshot.subject_table()
    people = table.filter(pc.equal(table["kind"].cast("string"), "person"))
    assert people.num_rows == 200_000
    on_list = [("discredited" in lists) for lists in people["lists"].to_pylist()]
    listed = people.filter(on_list)
    share = listed.num_rows / people.num_rows
    assert 0.007 <= share <= 0.013, share  # docs/simulation.md: target 1%, tolerance 0.3 point
    assert snapshot.metadata["lists"]["person"]["discredited"] == listed.num_rows
    restrictions = listed["restrictions"].to_pylist()
    assert all({"transport.flight", "transport.high_speed_rail"} <= set(r) for r in restrictions)
    # and through the look-up a relying party's check uses
    rows = snapshot.locate(listed["subject_id"].combine_chunks())
    assert (rows >= 0).all()
    combos = np.unique(np.asarray(snapshot.array("combo"))[rows])
    for combo in combos:
        for measure in ("transport.flight", "transport.high_speed_rail"):
            decision = snapshot.decision(int(combo), measure)
            assert not decision.allowed
            assert decision.reasons == ("listed:discredited",)
