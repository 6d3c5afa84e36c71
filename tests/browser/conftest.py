"""Headless Chromium (Debian's `chromium`, driven by Playwright through executable_path: no
browser download) on the web console of the session's cluster.

Each test gets a fresh browser context (its own sessionStorage, so it signs in itself) whose
page errors, failed requests of the console's own files and Content-Security-Policy violations
fail the test. Screenshots go to docs/console/ (the README shows them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO, Cluster, wait_until

HERE = Path(__file__).resolve().parent
INSTALL = REPO / "tests" / "install_debs.sh"
SCREENSHOTS = REPO / "docs" / "console"
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}  # an iPad Air held upright
# A fake webcam (a moving test pattern) that needs no permission prompt.
ARGS = ["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def chromium_path() -> str | None:
    found = os.environ.get("FACEGATE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and os.access(found, os.X_OK) else None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium's path; skip (with the reason) only when it cannot be installed."""
    path = chromium_path()
    if path is None:
        subprocess.run(["sh", str(INSTALL), "browser"], capture_output=True, timeout=900, check=False)
        path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed and `tests/install_debs.sh browser` could not install it")
    return path


@contextmanager
def headless(path: str) -> Iterator[Any]:
    """A headless Chromium, for one test: Playwright's sync API runs an asyncio loop in this
    thread while it is open, so helpers calling asyncio.run() (truncate, the cluster's fixtures)
    must run before or after, never during."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=path, args=ARGS)
        except Exception as exc:  # Playwright's own error type; any failure to start means the same
            pytest.skip(f"chromium at {path} does not start: {str(exc).splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Console:
    """A page of the console and what went wrong in it."""

    page: Any
    base_url: str
    problems: list[str] = field(default_factory=list)

    def open(self, route: str = "") -> None:
        self.page.goto(f"{self.base_url}/console{route}")

    def sign_in(self, key: str = "any key: the test cluster runs open") -> None:
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("navigation", name="Sections").wait_for()

    def wait_until(self, predicate: str, arg: Any = None, timeout: float = 20) -> None:
        """Evaluate `predicate` (JavaScript, a function of `arg` or an expression) in the page until it is
        truthy. Not Playwright's wait_for_function: it polls by eval() in the page's own timers, which the
        console's Content-Security-Policy (script-src 'self') refuses, so it fails whenever the first try
        is false; page.evaluate runs as the debugger, which the policy lets through."""
        wait_until(lambda: self.page.evaluate(predicate, arg), timeout, what=predicate)

    def screenshot(self, name: str, full_page: bool = False) -> None:
        """docs/console/<name>.png of the laptop-sized viewport (or the whole page); then the page must fit a tablet's
        width without scrolling sideways, and every form control must have a label."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_load_state("networkidle")
        # Photos are fetched with the API key, then shown: wait until none is still on its way.
        self.wait_until("!document.querySelector('[aria-busy=\"true\"]')")
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
        self.page.set_viewport_size(TABLET)
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        self.page.set_viewport_size(LAPTOP)
        assert overflow <= 0, f"{name}: {overflow} px wider than a tablet's screen"
        unlabelled = self.page.evaluate(
            """[...document.querySelectorAll('input, select, textarea')]
                .filter((e) => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-label'))
                .map((e) => e.outerHTML)"""
        )
        assert unlabelled == [], f"{name}: controls without a label"


@pytest.fixture
def console(chromium: str, cluster: Cluster) -> Iterator[Console]:
    """A page in a fresh headless Chromium (list it after the test's other fixtures: see `headless`)."""
    with headless(chromium) as browser:
        context = browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="UTC")
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.set_default_timeout(20_000)
        found = Console(page, cluster.base_url)
        page.on("pageerror", lambda error: found.problems.append(f"page error: {error}"))
        page.on("console", lambda message: found.problems.append(f"console: {message.text}")
                if message.type == "error" and "Content-Security-Policy" in message.text else None)  # fmt: skip
        page.on("response", lambda response: found.problems.append(f"{response.status} {response.url}")
                if "/console" in response.url and response.status >= 400 else None)  # fmt: skip
        try:
            yield found
        finally:
            context.close()
    assert found.problems == [], "the console's own files failed, or its Content-Security-Policy refused something"
