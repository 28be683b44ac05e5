"""The portal in a real browser: Playwright driving Debian's Chromium against a real
server. Screenshots go to ``test-artifacts/`` (or ``$SOCIALCREDIT_TEST_ARTIFACTS``)."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from socialcredit.keys import KeyRing
from socialcredit.settings import DEVELOPMENT_SECRET
from socialcredit.store import Database
from socialcredit.web.server import free_port, serve_command, wait_until_ready
from tests.scored import Scored

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SOCIALCREDIT_TEST_ARTIFACTS", "test-artifacts"))


@dataclass
class Portal:
    base: str
    store: str
    page: Any

    def key(self, subject_id: str) -> str:
        ring = KeyRing(Database(self.store), DEVELOPMENT_SECRET.encode("utf-8"))
        return ring.create("subject", [subject_id])[1]

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _browser_or_skip() -> Any:
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "install playwright (pip install -e '.[dev]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = "install Debian's chromium (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture
def portal(scored: Scored, tmp_path: Path) -> Iterator[Portal]:
    sync_playwright = _browser_or_skip()
    data = scored.copy_to(tmp_path / "data")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    port = free_port()
    env = {**os.environ, "SOCIALCREDIT_DATA": str(data), "SOCIALCREDIT_DATABASE_URL": store}
    env.pop("SOCIALCREDIT_SECRET_KEY", None)
    server = subprocess.Popen(serve_command(port, 1), env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_ready(base, server, 60), server.stderr.read() if server.stderr else ""
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
            )
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            yield Portal(base, store, page)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _discredited(scored: Scored) -> str:
    table = scored.snapshot.subject_table(["subject_id", "kind", "lists"])
    rows = zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
    return next(str(s) for s, k, ls in rows if k == "person" and "discredited" in (ls or []))


def test_the_home_charts_render(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.base + "/")
    page.wait_for_selector(".charts[data-drawn=true]", timeout=15_000)
    drawn = page.evaluate(
        """() => ["histogram", "grades", "lists", "provinces"].map((name) => {
            const canvas = document.getElementById("chart-" + name);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            let inked = 0;
            for (let i = 3; i < pixels.data.length; i += 4) { if (pixels.data[i] > 0) inked++; }
            return [name, canvas.width > 0, inked, window.socialcreditCharts["chart-" + name]
                .data.datasets.length];
        })"""
    )
    for name, sized, inked, datasets in drawn:
        assert sized, name
        assert inked > 500, name  # bars and axes drawn, not a blank canvas
        assert datasets >= 1, name
    portal.shot("home")
    page.click("text=English")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("h1") == "National picture"


def test_sign_in_my_credit_and_report_download(portal: Portal, scored: Scored) -> None:
    person = _discredited(scored)
    page = portal.page
    page.goto(portal.base + "/me")
    assert page.url.endswith("/signin")
    page.fill("#key", portal.key(person))
    page.keyboard.press("Enter")  # the form works from the keyboard
    page.wait_for_url("**/me")
    flight = page.locator('#measures tr[data-measure="transport.flight"]')
    assert flight.count() == 1
    snapshot = scored.snapshot
    behind = [r for name, r in snapshot.listed_records(int(snapshot.locate([person])[0]))]
    assert behind
    assert page.locator(f'#records tr[data-record="{behind[0]}"]').count() == 1
    portal.shot("my-credit-discredited")
    with page.expect_download() as waiting:
        page.click("#report")
    download = waiting.value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    saved = ARTIFACTS / "report.pdf"
    download.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    assert person in text
    assert download.suggested_filename.startswith("SCR-")
    assert download.suggested_filename[:-4] in text  # the report number


def test_a_search_on_the_platform(portal: Portal, scored: Scored) -> None:
    table = scored.snapshot.subject_table(["subject_id", "kind"])
    code = next(
        str(s)
        for s, k in zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True)
        if k == "organisation"
    )
    page = portal.page
    page.goto(portal.base + "/platform?lang=en")
    page.fill("#q", code)
    page.keyboard.press("Enter")
    page.wait_for_selector(f'#results tr[data-code="{code}"]')
    assert page.locator("#results tbody tr").count() == 1
    assert page.inner_text("#left") == "9"
    portal.shot("platform-search")
    page.click("text=The discredited list")
    page.wait_for_selector("#listing tbody tr")
    assert "*" in page.locator('#listing tr[data-kind="person"] td').nth(1).inner_text()


def test_an_objection_from_my_credit(portal: Portal, scored: Scored) -> None:
    """From my credit to the objection form from the keyboard, grounds submitted; my
    credit then lists the open case with its deadline and marks the record."""
    from socialcredit.casework import CaseStore

    person = _discredited(scored)
    snapshot = scored.snapshot
    record = snapshot.listed_records(int(snapshot.locate([person])[0]))[0][1]
    page = portal.page
    page.goto(portal.base + "/signin")
    page.fill("#key", portal.key(person))
    page.keyboard.press("Enter")
    page.wait_for_url("**/me")
    assert page.locator("#no-cases").count() == 1
    link = page.locator(f'#records tr[data-record="{record}"] a.object')
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/me/objection?record_id=*")
    assert page.input_value("#record_id") == record
    page.locator("#grounds").focus()
    page.keyboard.type("The judgment was performed in full; the court's receipt is attached.")
    portal.shot("objection-form")
    page.keyboard.press("Tab")  # to the submit button
    assert page.evaluate("document.activeElement.id") == "submit-case"
    page.keyboard.press("Enter")
    page.wait_for_url("**/me?case=*")
    [case] = CaseStore(Database(portal.store)).open_cases_of(person)
    deadline = case.deadline.isoformat()
    assert page.url.endswith(f"/me?case={case.case_id}")
    opened = page.inner_text("#opened")
    assert str(case.case_id) in opened
    assert deadline in opened
    listed = page.locator(f'#cases tr[data-case="{case.case_id}"]')
    assert listed.count() == 1
    assert listed.locator(".deadline").inner_text() == deadline
    assert record in listed.inner_text()
    mark = page.locator(f'#records tr[data-record="{record}"] .under-objection')
    assert mark.get_attribute("data-case") == str(case.case_id)
    assert "异议中" in mark.inner_text()
    assert deadline in mark.inner_text()
    assert page.locator(f'#records tr[data-record="{record}"] a.object').count() == 0
    found = page.evaluate(CONTRAST)
    assert (found["worst"], found["unlabelled"]) == ([], []), found
    portal.shot("my-credit-objection")


CONTRAST = """() => {
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const colour = (text) => (text.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const c = colour(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || element.offsetParent === null) continue;
    const fg = luminance(colour(getComputedStyle(element).color).slice(0, 3));
    const bg = luminance(background(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) worst.push([element.tagName, element.textContent.trim().slice(0, 30), ratio]);
  }
  const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
    .filter((i) => !(i.id && document.querySelector(`label[for="${i.id}"]`))
                   && !i.getAttribute("aria-label"))
    .map((i) => i.name);
  return { lang: document.documentElement.lang, worst, unlabelled };
}"""


def test_pages_pass_basic_accessibility_checks(portal: Portal, scored: Scored) -> None:
    """Text contrast of 4.5:1 or more (WCAG AA), every field labelled, the language
    declared; the language switch and the search work from the keyboard."""
    page = portal.page
    person = _discredited(scored)
    for path in ("/", "/platform", "/platform/list", "/signin"):
        page.goto(portal.base + path)
        found = page.evaluate(CONTRAST)
        assert found["lang"] == "zh-CN", path
        assert found["worst"] == [], (path, found["worst"])
        assert found["unlabelled"] == [], (path, found["unlabelled"])
    page.fill("#key", portal.key(person))
    page.keyboard.press("Enter")
    page.wait_for_url("**/me")
    found = page.evaluate(CONTRAST)
    assert (found["worst"], found["unlabelled"]) == ([], []), found
    for path in ("/me/objection", "/me/repair"):  # the casework forms, signed in
        page.goto(portal.base + path)
        found = page.evaluate(CONTRAST)
        assert found["lang"] == "zh-CN", path
        assert (found["worst"], found["unlabelled"]) == ([], []), (path, found)
    page.goto(portal.base + "/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    switch = page.locator("nav a", has_text="English")
    switch.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang=en]")
