"""The record ledger and the subject registry: append-only Delta tables.

``run_batch`` validates, deduplicates and appends one batch of input files; the CLI
commands ``init``, ``register`` and ``ingest`` (and later the API) are thin callers.
"""

from socialcredit.ledger.errors import LedgerError, LedgerNotInitialisedError, UnusableInputError
from socialcredit.ledger.ingest import IngestSummary, run_batch
from socialcredit.ledger.readers import FORMATS, InputFile, open_input
from socialcredit.ledger.schema import RECORDS, SUBJECTS, Layout
from socialcredit.ledger.store import Ledger

__all__ = [
    "FORMATS",
    "RECORDS",
    "SUBJECTS",
    "IngestSummary",
    "InputFile",
    "Layout",
    "Ledger",
    "LedgerError",
    "LedgerNotInitialisedError",
    "UnusableInputError",
    "open_input",
    "run_batch",
]
