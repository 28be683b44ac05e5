"""The published policy: models, loading with overlays, validation and audit."""

from socialcredit.policy.audit import PolicyAudit, audit
from socialcredit.policy.loader import (
    PolicyCatalog,
    PolicyError,
    Problem,
    shipped_policy_dir,
)
from socialcredit.policy.models import CATEGORIES, EffectivePolicy, Measure, RecordType
from socialcredit.policy.validation import check_files, load_catalog

__all__ = [
    "CATEGORIES",
    "EffectivePolicy",
    "Measure",
    "PolicyAudit",
    "PolicyCatalog",
    "PolicyError",
    "Problem",
    "RecordType",
    "audit",
    "check_files",
    "load_catalog",
    "shipped_policy_dir",
]
