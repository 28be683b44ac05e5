"""``validate_array`` gives the scalar verdict, row for row, on any Arrow string array."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.identity import Kind, validate, validate_array
from tests.factories import TODAY, resident_ids, usccs

_REFERENCE = [
    "11010519491231002X",
    "34052419800101001X",
    "91110000600037341L",
    "11010519491231002x",
    "110105194912310021",
    "11010519490231002X",
    "9111000060003734OL",
    "91110000600037341O",
    "1101051949123100",
    "",
    None,
    "é1010519491231002X",
    "ééééééééé",
    "11010519491231002Y",
]


def _assert_agrees(codes: list[str | None], kind: Kind | None = None) -> None:
    batch = validate_array(pa.array(codes, pa.string()), kind=kind, today=TODAY)
    expected = [validate(code, kind=kind, today=TODAY) for code in codes]
    assert batch.valid.to_pylist() == [r.valid for r in expected]
    assert batch.reason_code.to_pylist() == [
        None if r.reason is None else r.reason.value for r in expected
    ]
    assert batch.kind.to_pylist() == [r.kind for r in expected]
    assert batch.normalised.to_pylist() == [
        r.code if r.code is not None else c for r, c in zip(expected, codes, strict=True)
    ]
    assert batch.messages().to_pylist() == [r.message for r in expected]


@pytest.mark.parametrize("kind", [None, "person", "organisation"])
def test_reference_codes_agree_with_scalar(kind: Kind | None) -> None:
    _assert_agrees(_REFERENCE, kind)


_MUTATED = st.one_of(resident_ids(), usccs()).flatmap(
    lambda code: st.tuples(
        st.just(code),
        st.integers(0, 17),
        st.characters(min_codepoint=32, max_codepoint=126),
    ).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :])
)
_ANY = st.one_of(
    resident_ids(),
    usccs(),
    _MUTATED,
    st.text("0123456789X", min_size=16, max_size=20),
    st.text(min_size=0, max_size=20),
    st.none(),
)


@settings(max_examples=200)
@given(st.lists(_ANY, min_size=1, max_size=40), st.sampled_from([None, "person", "organisation"]))
def test_any_batch_agrees_with_scalar(codes: list[str | None], kind: Kind | None) -> None:
    _assert_agrees(codes, kind)


@given(st.lists(resident_ids(), min_size=1, max_size=30))
def test_uniform_batches_take_the_zero_copy_path_and_agree(codes: list[str]) -> None:
    _assert_agrees(list(codes))


def test_sliced_chunked_and_large_string_inputs() -> None:
    codes = ["xx", *_REFERENCE[:3], "11010519491231002X"]
    array = pa.array(codes)
    sliced = array.slice(1, 4)
    assert validate_array(sliced, today=TODAY).valid.to_pylist() == [True, True, True, True]
    chunked = pa.chunked_array([array.slice(0, 2), array.slice(2)])
    assert validate_array(chunked, today=TODAY).valid.to_pylist() == [False] + [True] * 4
    large = array.cast(pa.large_string())
    assert validate_array(large, today=TODAY).valid.to_pylist() == [False] + [True] * 4
    assert validate_array(codes, today=TODAY).invalid_count == 1


def test_empty_null_typed_and_dictionary_inputs() -> None:
    assert validate_array(pa.array([], pa.string()), today=TODAY).valid.to_pylist() == []
    nulls = validate_array(pa.nulls(2), today=TODAY)
    assert nulls.reason_code.to_pylist() == ["missing", "missing"]
    encoded = pa.array(["91110000600037341L", None]).dictionary_encode()
    assert validate_array(encoded, today=TODAY).valid.to_pylist() == [True, False]


def test_rejects_non_string_arrays() -> None:
    with pytest.raises(TypeError, match="string"):
        validate_array(pa.array([1, 2, 3]), today=TODAY)


def test_many_rows_span_several_blocks() -> None:
    codes = ["11010519491231002X", "91110000600037341L", "110105194912310021"] * 30_000
    batch = validate_array(codes, today=TODAY)
    assert batch.invalid_count == 30_000
    assert batch.kind.to_pylist()[:3] == ["person", "organisation", "person"]
    assert batch.invalid_indices()[:2].tolist() == [2, 5]


def test_one_string_is_not_an_array_of_codes() -> None:
    with pytest.raises(TypeError, match="one string"):
        validate_array("11010519491231002X", today=TODAY)


def test_mixed_lengths_and_nulls_in_large_batches_agree() -> None:
    codes: list[str | None] = ["11010519491231002X", "91110000600037341L"] * 70_000
    codes[5] = None
    codes[70_001] = "short"
    codes[139_999] = "110105194912310021"
    batch = validate_array(codes, today=TODAY)
    assert batch.invalid_indices().tolist() == [5, 70_001, 139_999]
    assert batch.reason_code.to_pylist()[139_999] == "bad_check_character"
