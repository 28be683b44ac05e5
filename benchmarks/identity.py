"""Vectorised against scalar identity validation, in one process on the same codes.

Target (issue 2): the vectorised form checks at least 5 million IDs per second.
The codes are made here with NumPy from the published formulas, independently of
the code under test: 95% resident IDs, 5% Unified Social Credit Codes, and 0.1%
with one character changed.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.identity import validate, validate_array
from socialcredit.regions import region_table

TARGET_PER_SECOND = 5_000_000
ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", np.uint8)


def _digits(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10).astype(np.uint8)


def resident_ids(rng: np.random.Generator, count: int) -> npt.NDArray[np.uint8]:
    codes = np.array([int(c) for c in region_table().regions], np.int64)
    region = rng.choice(codes, count)
    days = rng.integers(0, (dt.date(2008, 1, 1) - dt.date(1930, 1, 1)).days, count)
    born = np.datetime64("1930-01-01") + days.astype("timedelta64[D]")
    ymd = born.astype("datetime64[D]").astype(str)
    ymd_int = np.char.replace(ymd, "-", "").astype(np.int64)
    body = np.hstack(
        [_digits(region, 6), _digits(ymd_int, 8), _digits(rng.integers(0, 1000, count), 3)]
    )
    weights = np.array([pow(2, 17 - i, 11) for i in range(17)], np.int64)
    check = np.frombuffer(b"10X98765432", np.uint8)[(body.astype(np.int64) @ weights) % 11]
    return np.hstack([body + 48, check[:, None]]).astype(np.uint8)


def usccs(rng: np.random.Generator, count: int) -> npt.NDArray[np.uint8]:
    prefixes = np.frombuffer(b"91929351521211", np.uint8).reshape(-1, 2)
    prefix = prefixes[rng.integers(0, len(prefixes), count)]
    regions = np.array([int(c) for c in region_table().regions], np.int64)
    region = _digits(rng.choice(regions, count), 6) + 48
    org = ALPHABET[rng.integers(0, 10, (count, 9))]  # digits: GB 11714 warning is irrelevant
    body = np.hstack([prefix, region, org])
    value = np.searchsorted(ALPHABET, body)  # ALPHABET is sorted ASCII
    weights = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
    check = ALPHABET[(31 - (value @ weights) % 31) % 31]
    return np.hstack([body, check[:, None]]).astype(np.uint8)


def make_codes(count: int, seed: int = 7) -> pa.Array:
    rng = np.random.default_rng(seed)
    organisations = count // 20
    matrix = np.vstack([resident_ids(rng, count - organisations), usccs(rng, organisations)])
    matrix = matrix[rng.permutation(count)]
    broken = rng.choice(count, count // 1000, replace=False)
    matrix[broken, rng.integers(0, 18, len(broken))] = ord("7")  # may be a no-op: fine
    offsets = np.arange(0, 18 * count + 1, 18, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())]
    )


def with_irregular_rows(codes: pa.Array, seed: int = 11) -> pa.Array:
    """The same codes with 0.1% of rows null or of the wrong length (the gather path)."""
    values = codes.to_pylist()
    rng = np.random.default_rng(seed)
    for index in rng.choice(len(values), len(values) // 1000, replace=False):
        values[int(index)] = None if index % 2 else values[int(index)][:17]
    return pa.array(values, pa.string())


@dataclass(frozen=True)
class Result:
    label: str
    vectorised_per_second: float
    scalar_per_second: float
    rows: int

    @property
    def ratio(self) -> float:
        return self.vectorised_per_second / self.scalar_per_second


def run(codes: pa.Array, label: str, scalar_rows: int = 200_000, repeats: int = 3) -> Result:
    sample = codes.slice(0, scalar_rows).to_pylist()
    validate_array(codes.slice(0, 1000))  # load the tables before timing
    best_vector = best_scalar = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        batch = validate_array(codes)
        best_vector = min(best_vector, time.perf_counter() - start)
        start = time.perf_counter()
        scalar_valid = [validate(code).valid for code in sample]
        best_scalar = min(best_scalar, time.perf_counter() - start)
    vector_valid = batch.valid.slice(0, scalar_rows).to_pylist()
    assert vector_valid == scalar_valid, "vectorised and scalar verdicts differ"
    return Result(label, len(codes) / best_vector, scalar_rows / best_scalar, len(codes))


def main() -> bool:
    codes = make_codes(5_000_000)
    results = [run(codes, "uniform"), run(with_irregular_rows(codes), "0.1% irregular rows")]
    ok = True
    for result in results:
        met = result.vectorised_per_second >= TARGET_PER_SECOND
        ok &= met
        print(
            f"identity ({result.label}): vectorised {result.vectorised_per_second / 1e6:.1f} M "
            f"IDs/s over {result.rows:,} rows, scalar {result.scalar_per_second / 1e3:.0f} k "
            f"IDs/s, ratio {result.ratio:.0f}x; target >= {TARGET_PER_SECOND / 1e6:.0f} M/s: "
            + ("met" if met else "MISSED")
        )
    return ok
