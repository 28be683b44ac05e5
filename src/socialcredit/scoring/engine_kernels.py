"""The compiled passes of a scoring run (Numba; compiled on first use and cached on
disk; none calls another compiled function, which would make Numba compile it again
in every process).

``cluster`` orders the records by subject (a counting sort on the dense subject rows:
two passes, no comparison sort); ``score_subjects`` then walks each subject's records
once, in parallel over blocks of subjects, and does everything a subject needs:
statuses, points, the per-year sums and caps, list memberships and the clean-history
check, the score and the grade.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

# statuses (see engine.STATUS_CODES); the kernels cannot import them from there
COUNTED, NOT_IN_POLICY, REVOCATION_ROW, REVOKED_ROW = 0, 1, 2, 3
REPAIRED_ROW, UNDER_OBJECTION, NOT_YET, EXPIRED, CASEWORK_ROW = 4, 5, 6, 7, 8
# record flags (see ledger_view); CASEWORK: a row of a casework decision (it names in
# ``revokes`` the record the decision is about, and counts for nothing itself)
REVOKED, REPAIRED, FROZEN, REVOCATION, CASEWORK = 1, 2, 4, 8, 16

Kernel = Callable[..., Any]
#: inputs from this many rows on run in Numba's parallel loops; smaller ones (a server's
#: look-ups and explanations) in one thread: starting the parallel loop's threads costs
#: more than such work, and their spinning afterwards starves the server's other
#: processes (measured: 244 against 2,050 checks a second with two workers)
PARALLEL_ROWS = 65_536


def parallel_for(rows: int) -> bool:
    """Whether work over ``rows`` rows takes the parallel kernel."""
    return rows >= PARALLEL_ROWS


@cache
def cluster_kernel() -> Kernel:
    import numba

    @numba.njit(nogil=True, cache=True)
    def cluster(
        subject: npt.NDArray[np.int32], subjects: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(starts, order): the records of subject s are order[starts[s]:starts[s+1]],
        in ledger order; records of no subject (-1) come last."""
        starts = np.zeros(subjects + 2, np.int64)
        for s in subject:
            starts[(s if s >= 0 else subjects) + 1] += 1
        for i in range(1, starts.shape[0]):
            starts[i] += starts[i - 1]
        fill = starts[:-1].copy()
        order = np.empty(subject.shape[0], np.int64)
        for i in range(subject.shape[0]):
            s = subject[i] if subject[i] >= 0 else subjects
            order[fill[s]] = i
            fill[s] += 1
        return starts, order

    return cluster


@cache
def mark_kernel(parallel: bool) -> Kernel:
    """With or without parallel loops (see :func:`parallel_for`)."""
    import numba

    @numba.njit(nogil=True, cache=True, parallel=parallel)
    def mark(
        keys: npt.NDArray[np.uint64],
        targets: npt.NDArray[np.uint64],
        flags: npt.NDArray[np.uint8],
        bit: np.uint8,
    ) -> None:
        """Set ``bit`` in the flags of the records whose key is in sorted ``targets``."""
        # ``parallel`` named in the body: the disk cache keys on the code and its
        # closure, not on the compiler's options, and must keep both versions apart
        if not parallel and keys.shape[0] == 0:
            return
        for i in numba.prange(keys.shape[0]):
            k = np.searchsorted(targets, keys[i])
            if k < targets.shape[0] and targets[k] == keys[i]:
                flags[i] |= bit

    return mark


@cache
def score_kernel(parallel: bool) -> Kernel:
    """With or without parallel loops (see :func:`parallel_for`)."""
    import numba

    @numba.njit(nogil=True, cache=True, parallel=parallel)
    def score_subjects(
        starts: npt.NDArray[np.int64],
        order: npt.NDArray[np.int64],
        rec_type: npt.NDArray[np.int16],
        rec_occurred: npt.NDArray[np.int32],
        rec_amount: npt.NDArray[np.float64],
        rec_flags: npt.NDArray[np.uint8],
        subj_variant: npt.NDArray[np.int16],
        subj_kind: npt.NDArray[np.uint8],
        months: npt.NDArray[np.int32],
        kinds: npt.NDArray[np.uint8],
        points: npt.NDArray[np.int64],
        per_unit: npt.NDArray[np.float64],
        cap: npt.NDArray[np.int64],
        grouped: npt.NDArray[np.bool_],
        lists: npt.NDArray[np.uint8],
        clears: npt.NDArray[np.bool_],
        clears_any: npt.NDArray[np.bool_],
        against: npt.NDArray[np.bool_],
        first_day: npt.NDArray[np.int32],
        today: int,
        windows: npt.NDArray[np.int32],  # (grade lists, variants, types)
        window_bits: npt.NDArray[np.uint8],
        window_grades: npt.NDArray[np.uint8],
        base: int,
        floor: int,
        ceiling: int,
        grade_of_score: npt.NDArray[np.uint8],
        # outputs, per record
        status: npt.NDArray[np.uint8],
        rec_points: npt.NDArray[np.float64],
        adjustment: npt.NDArray[np.float64],
        behind: npt.NDArray[np.uint8],
        # outputs, per subject
        total: npt.NDArray[np.int64],
        score: npt.NDArray[np.int16],
        grade: npt.NDArray[np.uint8],
        on_lists: npt.NDArray[np.uint8],
        counted: npt.NDArray[np.int32],
    ) -> None:
        subjects = subj_variant.shape[0]
        types = months.shape[1]
        # ``parallel`` named in the body (see ``mark``): the two versions cached apart
        blocks = (subjects + 4095) // 4096 if parallel or subjects > 0 else 0
        for block in numba.prange(blocks):
            # per block scratch: the latest clearing per type, the (type, year) sums
            latest_clear = np.empty(types, np.int64)
            group_type = np.empty(64, np.int64)
            group_year = np.empty(64, np.int64)
            group_sum = np.empty(64, np.float64)
            group_last = np.empty(64, np.int64)
            blemished = np.zeros(windows.shape[0], np.bool_)
            latest_clear[:] = -(1 << 40)
            cleared = False
            for s in range(block * 4096, min(subjects, (block + 1) * 4096)):
                v = subj_variant[s]
                kind_bit = np.uint8(1) << subj_kind[s]
                if cleared:  # (reset only when the last subject used it)
                    latest_clear[:] = -(1 << 40)
                    cleared = False
                blemished[:] = False
                groups = 0
                sum_points = 0.0
                n_counted = 0
                for j in range(starts[s], starts[s + 1]):
                    i = order[j]
                    t = rec_type[i]
                    f = rec_flags[i]
                    day = rec_occurred[i]
                    if f & CASEWORK:
                        st = CASEWORK_ROW
                    elif t < 0 or months[v, t] == 0 or (kinds[v, t] & kind_bit) == 0:
                        st = NOT_IN_POLICY
                    elif f & REVOCATION:
                        st = REVOCATION_ROW
                    elif f & REVOKED:
                        st = REVOKED_ROW
                    elif f & REPAIRED:
                        st = REPAIRED_ROW
                    elif f & FROZEN:
                        st = UNDER_OBJECTION
                    elif day > today:
                        st = NOT_YET
                    elif day < first_day[v, t]:
                        st = EXPIRED
                    else:
                        st = COUNTED
                    status[i] = st
                    if st != COUNTED and st != EXPIRED:
                        continue
                    if clears_any[v, t]:
                        cleared = True
                        for u in range(types):
                            if clears[v, t, u] and day > latest_clear[u]:
                                latest_clear[u] = day
                    if against[v, t]:
                        for g in range(windows.shape[0]):
                            if day >= windows[g, v, t]:
                                blemished[g] = True
                    if st != COUNTED:
                        continue
                    n_counted += 1
                    if np.isnan(per_unit[v, t]):
                        p = float(points[v, t])
                    else:
                        a = rec_amount[i]
                        p = per_unit[v, t] * (0.0 if np.isnan(a) else a)
                    rec_points[i] = p
                    sum_points += p
                    if grouped[v, t]:
                        # the calendar year of the day number (H. Hinnant's civil_from_days)
                        z = day + 719468
                        era = (z if z >= 0 else z - 146096) // 146097
                        doe = z - era * 146097
                        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
                        mp = (5 * (doe - (365 * yoe + yoe // 4 - yoe // 100)) + 2) // 153
                        year = yoe + era * 400 + (1 if mp >= 10 else 0)
                        g = 0
                        while g < groups and not (group_type[g] == t and group_year[g] == year):
                            g += 1
                        if g == groups:
                            if groups == group_type.shape[0]:  # grow the scratch
                                group_type = np.concatenate((group_type, group_type))
                                group_year = np.concatenate((group_year, group_year))
                                group_sum = np.concatenate((group_sum, group_sum))
                                group_last = np.concatenate((group_last, group_last))
                            group_type[g], group_year[g], group_sum[g] = t, year, 0.0
                            groups += 1
                        group_sum[g] += p
                        group_last[g] = i
                for g in range(groups):
                    raw = group_sum[g]
                    whole = float(np.trunc(raw + np.sign(raw) * 1e-9))
                    limit = cap[v, group_type[g]]
                    if limit >= 0:
                        whole = min(max(whole, -float(limit)), float(limit))
                    adjustment[group_last[g]] = whole - raw
                    sum_points += whole - raw
                bits = np.uint8(0)
                for j in range(starts[s], starts[s + 1]):
                    i = order[j]
                    if status[i] == COUNTED:
                        t = rec_type[i]
                        if lists[v, t] != 0 and rec_occurred[i] > latest_clear[t]:
                            behind[i] = lists[v, t]
                            bits |= lists[v, t]
                whole_total = np.int64(np.rint(sum_points))
                total[s] = whole_total
                sc = int(base + whole_total)
                sc = floor if sc < floor else (ceiling if sc > ceiling else sc)
                score[s] = sc
                gr = grade_of_score[sc - floor]
                grade[s] = gr
                for g in range(windows.shape[0]):
                    if gr <= window_grades[g] and not blemished[g]:
                        bits |= window_bits[g]
                on_lists[s] = bits
                counted[s] = n_counted

    return score_subjects


@cache
def published_kernel() -> Kernel:
    import numba

    @numba.njit(nogil=True, cache=True)
    def published(
        status: npt.NDArray[np.uint8],
        rec_type: npt.NDArray[np.int16],
        subject: npt.NDArray[np.int32],
        kind: npt.NDArray[np.uint8],
        variant: npt.NDArray[np.int16],
        public: npt.NDArray[np.bool_],
        candidate: npt.NDArray[np.bool_],
        published_kind: np.uint8,
        rec_occurred: npt.NDArray[np.int32],
        first_day: npt.NDArray[np.int32],
        today: np.int32,
    ) -> npt.NDArray[np.int64]:
        """Positions, ascending, of the records in force (counted, or under objection
        and within their dates: that status is given before the dates are looked at)
        of subjects of ``published_kind`` whose type ``public[variant, type]`` marks
        public. ``candidate[type]``: public for that kind somewhere, checked first, so
        the subject's kind and variant are read only for those (a record counts only
        for a kind its type applies to). Two passes, no temporary arrays."""
        found = 0
        for pass_ in range(2):
            out = np.empty(found if pass_ else 0, np.int64)
            found = 0
            for i in range(status.shape[0]):
                t = rec_type[i]
                if t < 0 or not candidate[t]:
                    continue
                st = status[i]
                if st != COUNTED and st != UNDER_OBJECTION:
                    continue
                s = subject[i]
                if s < 0 or kind[s] != published_kind or not public[variant[s], t]:
                    continue
                if st == UNDER_OBJECTION and not (
                    first_day[variant[s], t] <= rec_occurred[i] <= today
                ):
                    continue
                if pass_:
                    out[found] = i
                found += 1
        return out

    return published
