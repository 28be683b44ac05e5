"""The API under load: a real Uvicorn server (``socialcredit serve``, two workers, both
cores) on loopback, driven by wrk (Debian's ``wrk``) on the same machine.

Targets (issue 6):

* single checks: p99 of 5 ms or less at 2,000 requests a second or more;
* batch checks: 200,000 subject ids a second or more (batches of 10,000);
* each reported against the same server's ``/healthz`` as the floor, as a ratio:
  the single checks' p99 over /healthz's p99 at the same pacing, and a batch's time
  over a /healthz request's time, both closed-loop.

Paced load: wrk has no request rate option, so each of ``CONNECTIONS`` connections
waits a random 0 to ``2 * PAUSE_MS`` between its requests (a Lua ``delay``; a fixed
pause lines the connections up into bursts, which real callers do not make): at most
``CONNECTIONS * 1000 / PAUSE_MS`` requests a second on average; the rate reached is
what wrk reports. Single
checks ask about random subjects of the benchmark's population (a Lua ``request``).
Every answered request also appends its audit entry, as in service.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.scoring_data import bench_dir
from socialcredit.audit import AuditLog
from socialcredit.keys import KeyRing
from socialcredit.store import Database
from socialcredit.web.server import free_port, serve_command, wait_until_ready

PEOPLE = int(os.environ.get("SOCIALCREDIT_BENCH_API_PEOPLE", 100_000))
SECONDS = int(os.environ.get("SOCIALCREDIT_BENCH_API_SECONDS", 10))
CONNECTIONS, PAUSE_MS = 23, 10  # about 2,300 requests a second at most
RATE_GOAL, P99_GOAL_MS, IDS_GOAL = 2_000, 5.0, 200_000
BATCH = 10_000
SECRET = "benchmark-secret-" + "x" * 32


def scored_data(people: int) -> tuple[Path, Path]:
    """A generated, registered, ingested and scored data dir (made once, kept), and
    the generator's subjects file."""
    from socialcredit.ledger import RECORDS, SUBJECTS, Ledger, open_input, run_batch
    from socialcredit.policy import load_catalog, shipped_policy_dir
    from socialcredit.scoring.run import ScoreRequest, run_scoring
    from socialcredit.simulate import GenerateOptions, generate

    root = bench_dir() / f"api-{people}"
    if not (root / "READY").is_file():
        shutil.rmtree(root, ignore_errors=True)
        catalog = load_catalog(shipped_policy_dir())
        as_of = dt.date(2026, 6, 30)
        generate(GenerateOptions(people=people, seed=2, out=root / "gen", as_of=as_of), catalog)
        ledger = Ledger.init(root / "data")[0]
        run_batch(ledger, SUBJECTS, [open_input(root / "gen/subjects.parquet")], catalog=None)
        run_batch(ledger, RECORDS, [open_input(root / "gen/records.parquet")], catalog=catalog)
        run_scoring(root / "data", catalog, ScoreRequest(as_of, dt.datetime.now(dt.UTC)))
        (root / "READY").write_text("ok")
    return root / "data", root / "gen" / "subjects.parquet"


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, connections: int, script: Path | None, env: dict[str, str], headers: dict[str, str]
) -> dict[str, float]:
    """Requests a second, p50 and p99 (ms) and non-2xx answers of one wrk run."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout
    found = {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
    }
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found["failed"] = float(failed.group(1)) if failed else 0.0
    return found


SCRIPTS = {
    "paced.lua": """
local pause = tonumber(os.getenv("PAUSE_MS"))
function delay() return math.random(0, 2 * pause) end
""",
    "checks.lua": """
local pause = tonumber(os.getenv("PAUSE_MS"))
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
math.randomseed(7)
request = function()
  return wrk.format(nil, "/api/v1/checks/transport.flight/" .. ids[math.random(#ids)])
end
function delay() return math.random(0, 2 * pause) end
""",
    "batch.lua": """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "r")
wrk.body = f:read("*a")
f:close()
""",
}


def main() -> bool:
    if shutil.which("wrk") is None:
        print("api: SKIPPED: install Debian's wrk (apt-get install wrk) to run this benchmark")
        return False
    data, subjects_file = scored_data(PEOPLE)
    work = Path(tempfile.mkdtemp(prefix="api-bench-"))
    ids = pq.read_table(subjects_file, columns=["subject_id"]).column(0).to_pylist()
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    batch = (ids * (BATCH // len(ids) + 1))[:BATCH]
    (work / "batch.json").write_text(
        json.dumps({"measure": "transport.flight", "subject_ids": batch})
    )
    for name, text in SCRIPTS.items():
        (work / name).write_text(text)
    store = f"sqlite:///{work / 'store.db'}"
    ring = KeyRing(Database(store), SECRET.encode())
    token = ring.create("relying_party", ["transport.flight"])[1]
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    env = {
        **os.environ,
        "SOCIALCREDIT_DATA": str(data),
        "SOCIALCREDIT_DATABASE_URL": store,
        "SOCIALCREDIT_SECRET_KEY": SECRET,
        "SOCIALCREDIT_RATE_LIMIT": "10000000",
    }
    server = subprocess.Popen(serve_command(port, 2), env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ready(base, server, 120):
            print("api: the server did not start")
            return False
        paced = {"PAUSE_MS": str(PAUSE_MS), "IDS_FILE": str(work / "ids.txt")}
        wrk(f"{base}/api/v1/checks/transport.flight/{ids[0]}", 4, None, {}, auth)  # warm-up
        floor = wrk(f"{base}/healthz", CONNECTIONS, work / "paced.lua", paced, {})
        single = wrk(base, CONNECTIONS, work / "checks.lua", paced, auth)
        floor_closed = wrk(f"{base}/healthz", 2, None, {}, {})
        batches = wrk(
            f"{base}/api/v1/checks",
            2,
            work / "batch.lua",
            {"BODY_FILE": str(work / "batch.json")},
            auth,
        )
        lag = index_lag(store)
        looked_up = access_log_look_up(store, ids[0])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    met_single = (
        single["rate"] >= RATE_GOAL and single["p99"] <= P99_GOAL_MS and not single["failed"]
    )
    print(
        f"api: single checks, {CONNECTIONS} connections pausing {PAUSE_MS} ms: "
        f"{single['rate']:,.0f} requests/s, p50 {single['p50']:.2f} ms, p99 {single['p99']:.2f} ms "
        f"({single['failed']:.0f} failed); /healthz paced alike: {floor['rate']:,.0f}/s, "
        f"p99 {floor['p99']:.2f} ms: p99 ratio {single['p99'] / floor['p99']:.1f}x; "
        f"target >= {RATE_GOAL:,}/s at p99 <= {P99_GOAL_MS:g} ms: "
        + ("met" if met_single else "MISSED")
    )
    ids_rate = batches["rate"] * BATCH
    met_batch = ids_rate >= IDS_GOAL and not batches["failed"]
    print(
        f"api: batch checks of {BATCH:,} ids, 2 connections: {batches['rate']:.1f} batches/s = "
        f"{ids_rate:,.0f} ids/s (p50 {batches['p50']:.0f} ms); /healthz closed-loop on 2 "
        f"connections: {floor_closed['rate']:,.0f}/s: a batch takes "
        f"{floor_closed['rate'] / max(batches['rate'], 1e-9):,.0f}x a /healthz answer; "
        f"target >= {IDS_GOAL:,} ids/s: " + ("met" if met_batch else "MISSED")
    )
    print(
        f"api: audit index after the batches: {lag[0]:,} entries ({lag[1]:,} subjects) of "
        f"{lag[2]:,} not yet indexed; one subject's access log (newest 1,000 of its "
        f"entries): {looked_up * 1000:.0f} ms"
    )
    return met_single and met_batch


def index_lag(store: str) -> tuple[int, int, int]:
    """Entries and subject mentions the server's audit index has not reached yet, and
    all entries: whether its maintainer keeps up."""
    from sqlalchemy import func, select

    from socialcredit.store.tables import AUDIT_LOG

    log = AuditLog(Database(store), maintains_index=False)
    with log.index.store.reading() as connection:
        indexed = log.index.watermark(log.index.live_runs(connection))
    with log.database.reading() as connection:
        behind, subjects = connection.execute(
            select(func.count(), func.coalesce(func.sum(AUDIT_LOG.c.subject_count), 0)).where(
                AUDIT_LOG.c.seq > indexed
            )
        ).one()
        total = connection.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one()
    return int(behind), int(subjects), int(total)


def access_log_look_up(store: str, subject_id: str) -> float:
    """Seconds for ``GET /subjects/{id}/access-log``'s look-up, best of three."""
    log = AuditLog(Database(store), maintains_index=False)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        log.for_subject(subject_id)
        best = min(best, time.perf_counter() - started)
    return best
