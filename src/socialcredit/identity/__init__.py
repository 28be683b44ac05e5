"""National identity codes: resident IDs (GB 11643) and Unified Social Credit Codes (GB 32100).

``validate`` checks one code; ``validate_array`` checks an Arrow array of them.
"""

from socialcredit.identity.codes import Kind, Reason
from socialcredit.identity.scalar import (
    IdentityResult,
    org_code_check_character,
    ric_check_character,
    uscc_check_character,
    validate,
)
from socialcredit.identity.vectorised import BatchValidation, validate_array

__all__ = [
    "BatchValidation",
    "IdentityResult",
    "Kind",
    "Reason",
    "org_code_check_character",
    "ric_check_character",
    "uscc_check_character",
    "validate",
    "validate_array",
]
