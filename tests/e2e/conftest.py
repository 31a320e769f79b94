"""Browser tests: Debian's Chromium driven by Playwright against Django's live server.

Chromium comes from the system (`/usr/bin/chromium`, Debian's package), not
Playwright's own download. Without it these tests skip locally; in CI
(REQUIRE_BROWSER=1) they fail instead, so a missing browser is never silent.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

# Playwright's sync API runs an event loop in this thread; the test's own ORM
# calls are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
        pytest.skip("no Chromium: apt-get install chromium")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # A British reader's browser (Accept-Language, navigator.language). Headless Chromium still
    # draws empty date fields as mm/dd/yyyy whatever the locale: an artefact of the screenshots.
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def sign_in():
    """sign_in(page, live_server, username): sign in on the web page, with the personas' password."""

    def sign_in(page, live_server, username):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "correct horse battery")
        page.click("button[type=submit]")

    return sign_in


# --- every main page: screenshots at a phone's and a desktop's width, and axe-core -------

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "screenshots"
AXE_SOURCE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
WIDTHS = {"phone": 390, "desktop": 1280}
# The impacts that fail a test; "minor" and "moderate" are reported by axe but tolerated.
FAILING_IMPACTS = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands. Evaluated through the
    DevTools protocol, which the page's Content-Security-Policy does not govern (an injected
    <script> would be refused, rightly)."""
    page.evaluate(AXE_SOURCE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]


@pytest.fixture
def look():
    """`look(page, "name")`: screenshot the page at each width into test-artefacts/screenshots/
    and fail on any serious or critical accessibility violation."""

    def check(page, name: str) -> None:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        problems = {}
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(ARTEFACTS / f"{name}-{label}.png"), full_page=True)
            violations = axe_violations(page)
            if violations:
                problems[label] = violations
        page.set_viewport_size({"width": 1280, "height": 900})
        assert not problems, f"accessibility violations on {name}: {problems}"

    return check


# --- signing in, for the journeys -----------------------------------------------------------


@pytest.fixture
def sign_in_as(live_server):
    """`sign_in_as(page, user)`: through the sign-in page, with the personas' password."""

    def sign_in(page, user, password: str = "correct horse battery") -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("main button[type=submit]")
        page.wait_for_selector("button:has-text('Sign out')")

    return sign_in
