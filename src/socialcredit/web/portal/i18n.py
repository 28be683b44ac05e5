"""The portal's words in Chinese and English; the language comes from ``?lang=`` (kept
in a cookie), else Chinese."""

from __future__ import annotations

from fastapi import Request

LANGUAGES = ("zh", "en")
COOKIE = "sc_lang"

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "site": "社会信用平台",
        "skip": "跳到正文",
        "home": "全国概况",
        "me": "我的信用",
        "signin": "登录",
        "signout": "退出",
        "language": "English",
        "histogram": "信用分分布",
        "grades": "等级分布",
        "lists": "名单人数",
        "provinces": "各省平均信用分",
        "snapshot": "数据快照",
        "policy": "政策版本",
        "as_of": "统计日期",
        "subjects": "主体数",
        "key": "登录密钥",
        "key_help": "由 socialcredit keys create --role subject 生成的个人密钥",
        "signin_failed": "密钥无效、已撤销或已过期。",
        "score": "信用分",
        "grade": "等级",
        "rank": "排名",
        "percentile": "百分位",
        "national": "全国",
        "province": "省",
        "city": "市",
        "records": "信用记录",
        "date": "日期",
        "record": "记录",
        "points": "分值",
        "rule": "规则",
        "authority": "机关",
        "decision": "决定文书号",
        "counts_until": "计分至",
        "status": "状态",
        "measures": "适用的激励和限制",
        "measure": "措施",
        "kind": "类别",
        "restriction": "限制",
        "incentive": "激励",
        "why": "原因",
        "none": "无",
        "rights": "异议和信用修复",
        "rights_text": "对记录有异议的，可向记录所列机关提出异议并说明理由；异议期间记录效力冻结。"
        "最短公示期满后，可提交履行义务或缴纳罚款的证明申请信用修复。",
        "report": "下载个人信用报告 (PDF)",
        "lists_on": "所在名单",
        "table_fallback": "图表数据",
    },
    "en": {
        "site": "Social credit platform",
        "skip": "Skip to content",
        "home": "National picture",
        "me": "My credit",
        "signin": "Sign in",
        "signout": "Sign out",
        "language": "中文",
        "histogram": "Score distribution",
        "grades": "Grades",
        "lists": "On the lists",
        "provinces": "Mean score by province",
        "snapshot": "Snapshot",
        "policy": "Policy version",
        "as_of": "As of",
        "subjects": "Subjects",
        "key": "Sign-in key",
        "key_help": "Your personal key, made by socialcredit keys create --role subject",
        "signin_failed": "The key is not valid, revoked or expired.",
        "score": "Score",
        "grade": "Grade",
        "rank": "Rank",
        "percentile": "Percentile",
        "national": "National",
        "province": "Province",
        "city": "City",
        "records": "Records",
        "date": "Date",
        "record": "Record",
        "points": "Points",
        "rule": "Rule",
        "authority": "Authority",
        "decision": "Decision reference",
        "counts_until": "Counts until",
        "status": "Status",
        "measures": "Incentives and restrictions that apply",
        "measure": "Measure",
        "kind": "Kind",
        "restriction": "Restriction",
        "incentive": "Incentive",
        "why": "Why",
        "none": "None",
        "rights": "Objection and credit repair",
        "rights_text": "You may object to a record before the authority named on it, giving "
        "your grounds; while the objection is open the record's effect is frozen. Once the "
        "minimum publication period has passed, you may apply for credit repair with "
        "evidence that the obligation was performed or the penalty paid.",
        "report": "Download my credit report (PDF)",
        "lists_on": "On lists",
        "table_fallback": "Chart data",
    },
}


def language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in LANGUAGES else "zh"
