"""The tamper-evident audit log (:mod:`.log`), its index by subject
(:mod:`.subject_index`, kept up by :mod:`.maintainer`) and the group-commit writer of a
server (:mod:`.writer`)."""

from socialcredit.audit.log import (
    FIELDS,
    GENESIS,
    MANY_SUBJECTS,
    AuditEntry,
    AuditLog,
    Verification,
    entry_hash,
)
from socialcredit.audit.maintainer import IndexMaintainer
from socialcredit.audit.subject_index import SubjectIndex
from socialcredit.audit.subjects import subject_keys
from socialcredit.audit.writer import AuditWriter

__all__ = [
    "FIELDS",
    "GENESIS",
    "MANY_SUBJECTS",
    "AuditEntry",
    "AuditLog",
    "AuditWriter",
    "IndexMaintainer",
    "SubjectIndex",
    "Verification",
    "entry_hash",
    "subject_keys",
]
