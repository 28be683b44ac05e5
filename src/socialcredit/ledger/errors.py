"""The ledger's errors: each carries its CLI exit code and its HTTP status."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of the ledger's errors."""

    exit_code = 2
    http_status = 500


class UnusableInputError(LedgerError):
    """The input cannot be used at all (unreadable, wrong format, missing columns):
    nothing of it is ingested (exit 2)."""

    exit_code = 2
    http_status = 422


class LedgerNotInitialisedError(LedgerError):
    """The data directory holds no ledger: run ``socialcredit init``."""

    exit_code = 2
    http_status = 503
