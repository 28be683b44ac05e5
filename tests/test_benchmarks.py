"""The benchmark's own code generator makes codes the validator accepts (no timing here)."""

from __future__ import annotations

from benchmarks.identity import make_codes

from socialcredit.identity import validate_array


def test_generated_benchmark_codes_are_valid_except_the_broken_few() -> None:
    codes = make_codes(20_000)
    batch = validate_array(codes)
    assert batch.invalid_count <= 20_000 // 1000
    kinds = batch.kind.to_pylist()
    assert kinds.count("organisation") >= 20_000 // 20 - 20
