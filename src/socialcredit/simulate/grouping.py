"""Grouping of integer columns without sorting them when they are already in order.

A chunk's rows come county by county, so its region column is sorted; these
functions use that (a linear pass) and fall back to a sort only when it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


def distinct(values: Ints) -> tuple[Ints, Ints]:
    """The distinct values in increasing order, and each row's position among them
    (what ``np.unique(values, return_inverse=True)`` gives)."""
    if len(values) == 0 or not _is_sorted(values):
        unique, positions = np.unique(values, return_inverse=True)
        return unique, positions.astype(np.int64)
    starts = np.concatenate(([True], values[1:] != values[:-1]))
    inverse: Ints = np.cumsum(starts) - 1
    return values[starts], inverse


def ranks_within(group: Ints, key: Ints) -> Ints:
    """Each row's rank, in row order (0, 1, 2, ...), among the rows with the same
    ``(group, key)``. ``key`` should span a small range: it indexes a counter table."""
    rows = len(key)
    if rows == 0:
        return np.zeros(0, np.int64)
    order = None if _is_sorted(group) else np.argsort(group, kind="stable")
    if order is not None:
        group, key = group[order], key[order]
    low = int(key.min())
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    bounds = np.append(starts, rows).astype(np.int64)
    ranks = _rank_kernel()(bounds, key - low, int(key.max()) - low + 1)
    if order is None:
        return ranks
    unsorted = np.empty(rows, np.int64)
    unsorted[order] = ranks
    return unsorted


def _is_sorted(values: Ints) -> bool:
    return bool((values[1:] >= values[:-1]).all())


@cache
def _rank_kernel() -> Callable[[Ints, Ints, int], Ints]:
    """Compiled on first use (and cached on disk)."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def kernel(bounds: Ints, key: Ints, span: int) -> Ints:
        counter = np.zeros(span, np.int64)
        ranks = np.empty(key.shape[0], np.int64)
        for g in range(bounds.shape[0] - 1):
            for r in range(bounds[g], bounds[g + 1]):
                k = np.uint64(key[r])
                ranks[r] = counter[k]
                counter[k] += 1
            for r in range(bounds[g], bounds[g + 1]):
                counter[np.uint64(key[r])] = 0
        return ranks

    return kernel
