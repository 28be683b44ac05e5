"""A report's HTML (Jinja2, the stylesheet inlined: the page needs nothing from the
network) and its PDF (WeasyPrint, which lays the same HTML out; Chinese text needs a
CJK font installed: ``fonts-wqy-microhei`` or ``fonts-noto-cjk``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

#: the fonts the report asks for, in order (the first installed one is used)
CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC")


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("socialcredit.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,  # a missing field is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(content: dict[str, Any]) -> str:
    css = resources.files("socialcredit.reports").joinpath("templates/report.css").read_text()
    template = _environment().get_template("report.html.j2")
    return template.render(report=content, css=css, fonts=CJK_FONTS)


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # a heavy import: only when a PDF is asked for

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
