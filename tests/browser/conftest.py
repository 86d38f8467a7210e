"""Fixtures for the browser tests: a JupyterLab server, headless Chromium, a page.

The tests drive a real JupyterLab in Debian's Chromium through Playwright, and say
how far the demo's training goes through the ``gate`` fixture. A missing
piece (Playwright, Chromium or JupyterLab) FAILS the tests with a message saying
what to install: they never skip. Screenshots, the browser console and the server
log go to ``tests/artifacts/browser/`` (rewritten on every run).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest
from labserver import LabServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 1400}

# Console errors that are not the page's fault; anything else fails the test.
CONSOLE_ERROR_ALLOWLIST: list[re.Pattern[str]] = [
    # bqplot's Figure.render sizes its plot-area rects from its element before
    # ipywidgets has inserted the view into the page (a chart added to a board that
    # is already shown, e.g. a key first logged late): 0 px less the margins. It
    # hides the figure then and lays it out again once attached; the tests check
    # the chart's final geometry (test_first_boards_render draws that late "loss").
    re.compile(
        r'^Error: <rect> attribute (width|height): A negative value is not valid\. \("-\d+"\)$'
    ),
]


def find_chromium() -> str | None:
    """$HYPERTUNER_CHROMIUM, else Debian's chromium."""
    override = os.environ.get("HYPERTUNER_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/artifacts/browser, emptied once per session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium driven by Playwright (its own browser download is not used)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.fail(
            "browser tests need Playwright for Python: pip install playwright", pytrace=False
        )
    executable = find_chromium()
    if executable is None:
        pytest.fail(
            "browser tests need Chromium: apt-get install chromium "
            "(or point HYPERTUNER_CHROMIUM at a Chromium executable)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(f"could not launch {executable}: {exc}", pytrace=False)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, artifacts_dir):
    """A JupyterLab server of its own; notebooks copied into ``lab_server.root_dir`` open in it."""
    missing = [
        name for name in ("jupyterlab", "ipykernel") if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.fail(
            f"browser tests need {' and '.join(missing)}: pip install jupyterlab", pytrace=False
        )
    base = tmp_path_factory.mktemp("jupyterlab")
    server = LabServer(root_dir=base / "root", state_dir=base / "state")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if server.log_path.exists():
            shutil.copy(server.log_path, artifacts_dir / "jupyterlab.log")


@pytest.fixture(scope="module")
def gate(lab_server):
    """The server's demo gate, held at step 0: the module says how far training goes.

    Released when the module ends, pass or fail, so no kernel or trainer is left
    waiting. Ask for it before the notebook runs (and after ``page``, so that it is
    released before the page's kernels are shut down).
    """
    lab_server.gate.hold()
    try:
        yield lab_server.gate
    finally:
        lab_server.gate.release()


class ConsoleLog:
    """Everything the page logs; errors and uncaught exceptions also go to ``errors``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.errors: list[str] = []

    def on_console(self, message) -> None:
        line = f"[{message.type}] {message.text}"
        self.lines.append(line)
        if message.type == "error" and not any(
            p.search(message.text) for p in CONSOLE_ERROR_ALLOWLIST
        ):
            self.errors.append(line)

    def on_page_error(self, error) -> None:
        line = f"[pageerror] {error}"
        self.lines.append(line)
        self.errors.append(line)


@pytest.fixture(scope="module")
def page(chromium, lab_server, artifacts_dir, request):
    """One page per test module, in a fresh browser context; ``page.console_log`` holds its log.

    Kernels are shut down afterwards.
    """
    context = chromium.new_context(viewport=VIEWPORT)
    new_page = context.new_page()
    new_page.set_default_timeout(30_000)
    console = ConsoleLog()
    new_page.on("console", console.on_console)
    new_page.on("pageerror", console.on_page_error)
    new_page.console_log = console
    try:
        yield new_page
    finally:
        name = request.module.__name__.rsplit(".", 1)[-1]
        (artifacts_dir / f"console_{name}.log").write_text("\n".join(console.lines) + "\n")
        context.close()
        lab_server.shutdown_kernels()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, artifacts_dir):
    """Save the whole page as FAILED_<test>.png when a browser test fails."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or "page" not in request.fixturenames:
        return
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        request.getfixturevalue("page").screenshot(path=str(artifacts_dir / f"FAILED_{name}.png"))
    except Exception as exc:  # noqa: BLE001 - the test's own failure is the one to report
        print(f"no failure screenshot: {exc}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
