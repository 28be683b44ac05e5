"""Synthetic population and records, calibrated to published figures.

No real personal data is ever used: names, IDs and records are generated.
"""

from socialcredit.simulate.generate import GenerateSummary, generate, plan_run
from socialcredit.simulate.names import pinyin
from socialcredit.simulate.schema import (
    RECORD_SCHEMA,
    SUBJECT_SCHEMA,
    GenerateError,
    GenerateOptions,
)

__all__ = [
    "RECORD_SCHEMA",
    "SUBJECT_SCHEMA",
    "GenerateError",
    "GenerateOptions",
    "GenerateSummary",
    "generate",
    "pinyin",
    "plan_run",
]
