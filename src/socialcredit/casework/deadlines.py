"""Casework dates: when a decision is due, and when credit repair becomes possible.

A decision is due within the record type's ``objection_deadline_days`` (calendar days;
15 for court-list records), else within ``objection_deadline_working_days`` (10 by
default) counted Monday to Friday. Public holidays are not known to the platform:
they count as working days (the authority's deadline is then, if anything, shorter).
"""

from __future__ import annotations

import datetime as dt

from socialcredit.policy.models import RecordType
from socialcredit.scoring.policy_tables import add_months

#: the deadline of a record whose type has left the policy
DEFAULT_WORKING_DAYS = 10


def working_days_after(day: dt.date, count: int) -> dt.date:
    """The ``count``-th working day (Monday to Friday) after ``day``."""
    current = day
    left = count
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def decision_deadline(record_type: RecordType, opened_on: dt.date) -> dt.date:
    """The last day on which a case opened on ``opened_on`` may be decided in time."""
    if record_type.objection_deadline_days is not None:
        return opened_on + dt.timedelta(days=record_type.objection_deadline_days)
    return working_days_after(opened_on, record_type.objection_deadline_working_days)


def counts_until(record_type: RecordType, occurred_on: dt.date) -> dt.date:
    """The first day on which the record no longer counts nor is published."""
    return add_months(occurred_on, record_type.in_force_months)


def repair_possible_from(record_type: RecordType, occurred_on: dt.date) -> dt.date | None:
    """The first day a repair may be applied for (None: the type is never published,
    so there is nothing to repair: it simply expires)."""
    if record_type.repair_after_months is None or not record_type.is_negative:
        return None
    return add_months(occurred_on, record_type.repair_after_months)
