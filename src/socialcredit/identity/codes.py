"""Constants of the two national identity codes.

Resident ID (GB 11643-1999): 6-digit division code, YYYYMMDD birth date, 3-digit
sequence, ISO 7064 MOD 11-2 check character.

Unified Social Credit Code (GB 32100-2015): registering authority, entity type,
6-digit division code, 9-character organisation code (GB 11714), mod-31 check.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

Kind = Literal["person", "organisation"]

LENGTH: Final = 18
#: division code of registrations at central (national) level in a USCC, e.g. 11100000...
CENTRAL_REGION: Final = "100000"
EARLIEST_BIRTH_DATE: Final = 19000101

#: ISO 7064 MOD 11-2 weights, 2**(17 - i) mod 11
RIC_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
#: check character for each remainder of the weighted sum mod 11
RIC_CHECK: Final = "10X98765432"

#: GB 32100: digits and capital letters without I, O, S, V, Z
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714 organisation code: weights of its 8 body characters
ORG_CODE_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

#: GB 32100-2015 appendix A (with later additions A and N): registering
#: authority -> (name, {entity type code: entity type name})
REGISTERING_AUTHORITIES: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "1": (
        "机构编制 (institutional staffing)",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": ("外交 (foreign affairs)", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政 (justice administration)",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化 (culture)", {"1": "外国在华文化中心", "9": "其他"}),
    "5": (
        "民政 (civil affairs)",
        {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    ),
    "6": (
        "旅游 (tourism)",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地代表机构", "9": "其他"},
    ),
    "7": ("宗教 (religious affairs)", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会 (trade unions)", {"1": "基层工会", "9": "其他"}),
    "9": ("工商 (market regulation)", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室 (military staffing)", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业 (agriculture)",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他 (other)", {"1": "其他"}),
}


class Reason(StrEnum):
    """Why a code is invalid. The first failing check, in this order, is reported."""

    MISSING = "missing"
    LENGTH = "length"
    BAD_CHARACTER = "bad_character"
    BAD_AUTHORITY = "bad_authority"
    BAD_ENTITY_TYPE = "bad_entity_type"
    UNKNOWN_REGION = "unknown_region"
    BAD_DATE = "bad_date"
    BAD_CHECK_CHARACTER = "bad_check_character"


#: position of each reason in the vectorised reason dictionary (0 means valid)
REASON_CODES: Final = (None, *Reason)
