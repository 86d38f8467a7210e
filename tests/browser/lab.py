"""Drive a JupyterLab 4 page the way a person does: open a notebook, Run All, watch prompts.

Selectors were checked against JupyterLab 4.6 and ipywidgets 8.1 in Chromium.
Every query is scoped to the notebook panel on show: tabs restored from a saved
workspace stay in the DOM, hidden.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # without Playwright, conftest's fixtures fail with what to install
    from playwright.sync_api import Page

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELL = f"{PANEL} .jp-Notebook .jp-Cell"
CODE_CELL = f"{PANEL} .jp-Notebook .jp-CodeCell"
PROMPT = f"{CODE_CELL} > .jp-Cell-inputWrapper .jp-InputArea-prompt"  # "[ ]:", "[*]:", "[3]:"
EXECUTION_INDICATOR = f"{PANEL} .jp-Notebook-ExecutionIndicator"
KERNEL_NAME = f"{PANEL} .jp-NotebookPanel-toolbar [data-jp-item-name=kernelName]"
STATUS_BAR_TEXT = ".jp-StatusBar-TextItem"  # the kernel's reads "Python 3 (ipykernel) | Idle"
# Tracebacks and everything written to stderr share this MIME type.
STDERR_OUTPUT = f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


# -- opening ------------------------------------------------------------------------


def open_notebook(page: Page, base_url: str, name: str, timeout: float = 90.0) -> None:
    """Open ``<root>/name`` in a single tab and wait until its kernel is connected and idle.

    ``?reset`` drops the workspace the server saved: without it, notebooks opened
    earlier come back as extra tabs.
    """
    deadline = time.monotonic() + timeout
    page.goto(
        f"{base_url}/lab/tree/{name}?reset", wait_until="domcontentloaded", timeout=timeout * 1000
    )
    page.wait_for_selector(CELL, timeout=_ms_left(deadline))
    current_tab = f".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel:text-is('{Path(name).name}')"
    page.wait_for_selector(current_tab, timeout=_ms_left(deadline))
    wait_kernel_ready(page, deadline)


def open_cells(page: Page, server, name: str, sources: list[str]) -> None:
    """Write a notebook ``name`` of these code cells in the server's root, open it and
    make room for it (the left sidebar collapsed); nothing runs yet."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, server.root_dir / name)
    open_notebook(page, server.url, name)
    collapse_left_sidebar(page)


def collapse_left_sidebar(page: Page) -> None:
    """Close the file browser (``?reset`` opens it), so notebook outputs get the width."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.first.click()
        page.locator("#jp-left-stack").wait_for(state="hidden")


_KERNEL_READY = """
([indicator, kernelName, statusBar]) => {
  const state = document.querySelector(indicator);
  if (!state || state.getAttribute('data-status') !== 'idle') return false;
  const name = document.querySelector(kernelName);
  if (!name || !name.textContent.trim() || /No Kernel/i.test(name.textContent)) return false;
  return [...document.querySelectorAll(statusBar)].some(
    (item) => /\\|\\s*Idle\\s*$/.test(item.textContent) && !/No Kernel/i.test(item.textContent));
}
"""


def wait_kernel_ready(page: Page, deadline: float, settle: float = 0.3) -> None:
    """Wait until the kernel is connected and idle, and still is ``settle`` seconds later.

    The execution indicator alone misleads: before a kernel exists it reads "idle",
    then walks initializing, connecting, unknown, idle. So a real kernel name in the
    toolbar and "<name> | Idle" in the status bar are required as well.
    """
    selectors = [EXECUTION_INDICATOR, KERNEL_NAME, STATUS_BAR_TEXT]
    while True:
        page.wait_for_function(
            _KERNEL_READY, arg=selectors, timeout=_ms_left(deadline), polling=100
        )
        page.wait_for_timeout(settle * 1000)
        if page.evaluate(_KERNEL_READY, selectors):
            return


def run_all(page: Page) -> None:
    """Run All Cells through the Run menu (its command is runmenu:run-all)."""
    _run_menu(page, "runmenu:run-all")


def run_cell(page: Page, index: int, below: bool = False) -> None:
    """Select code cell ``index`` and run it (with the cells below it when ``below``)
    through the Run menu, as a person does."""
    code_cell(page, index).locator(".jp-InputArea-editor").click()
    _run_menu(page, "notebook:run-all-below" if below else "notebook:run-cell")


def _run_menu(page: Page, command: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).click()
    item = page.locator(f".lm-Menu-item[data-command='{command}']")
    item.wait_for(state="visible")
    item.click()
    page.locator(".lm-Menu").first.wait_for(state="hidden")


# -- prompts ------------------------------------------------------------------------


def prompts(page: Page) -> list[str]:
    """Every code cell's prompt, in order: "" never run, "*" running or queued, "3" done."""
    texts = page.eval_on_selector_all(PROMPT, "els => els.map((e) => e.textContent)")
    return [
        match.group(1).strip() if (match := re.search(r"\[(.*?)\]", t)) else t.strip()
        for t in texts
    ]


def wait_running(page: Page, index: int, timeout: float = 90.0) -> None:
    """Wait until code cell ``index`` is the cell actually running.

    [*] also marks cells queued behind it, so every cell above must have a number.
    """
    page.wait_for_function(
        """([selector, index]) => {
            const texts = [...document.querySelectorAll(selector)].map((e) => e.textContent);
            return texts.length > index && texts[index].includes('[*]')
                && texts.slice(0, index).every((t) => /\\[\\d+\\]/.test(t));
        }""",
        arg=[PROMPT, index],
        timeout=timeout * 1000,
        polling=50,
    )


def wait_all_done(page: Page, timeout: float = 120.0) -> list[str]:
    """Wait until every code cell has an execution count; return the prompts."""
    page.wait_for_function(
        """(selector) => {
            const texts = [...document.querySelectorAll(selector)].map((e) => e.textContent);
            return texts.length > 0 && texts.every((t) => /\\[\\d+\\]/.test(t));
        }""",
        arg=PROMPT,
        timeout=timeout * 1000,
        polling=100,
    )
    return prompts(page)


# -- cells and outputs ----------------------------------------------------------------


def code_cell_index(page: Page, source_contains: str) -> int:
    """Index (among code cells) of the first cell whose source contains the text."""
    sources = page.eval_on_selector_all(
        f"{CODE_CELL} .jp-InputArea-editor", "els => els.map((e) => e.textContent)"
    )
    for index, source in enumerate(sources):
        if source_contains in source:
            return index
    raise LookupError(f"no code cell contains {source_contains!r}; sources: {sources}")


def code_cell(page: Page, index: int):
    """Locator of code cell ``index``."""
    return page.locator(CODE_CELL).nth(index)


def output_text(page: Page, index: int) -> str:
    """The visible text of code cell ``index``'s outputs."""
    return code_cell(page, index).locator(".jp-OutputArea").inner_text()


def stderr_outputs(page: Page) -> list[str]:
    """The text of every traceback or stderr output in the notebook."""
    return page.locator(STDERR_OUTPUT).all_inner_texts()


# -- screenshots ----------------------------------------------------------------------


def screenshot(target, folder: Path, name: str) -> Path:
    """Save a PNG of a page or a locator into ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if hasattr(target, "scroll_into_view_if_needed"):
        target.scroll_into_view_if_needed()
    target.screenshot(path=str(path), animations="disabled")
    return path


def _ms_left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 1.0) * 1000


def save_and_reload(page: Page) -> None:
    """Save the notebook, as a person does before a reload (an unsaved output is not
    restored), reload the page and wait for its cells."""
    page.locator(f"{PANEL} .jp-Toolbar [data-command='docmanager:save']").click()
    page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)", timeout=30_000)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector(CELL, timeout=90_000)


# -- a training cell the test ends ---------------------------------------------------


@contextmanager
def cell_until_stopped(page: Page, server, name: str, source: str, stop: str, run: str):
    """Open a one-cell notebook ``name`` holding ``source`` and Run All; it trains until
    the file ``stop`` appears in the server's root, which happens on leaving the block,
    pass or fail. Leaving waits until the runs whose name starts with ``run`` are
    finished on disk: the prompt of a page reloaded meanwhile may never say so."""

    import hypertuner

    root = server.root_dir
    (root / stop).unlink(missing_ok=True)
    open_cells(page, server, name, [source])
    run_all(page)
    wait_running(page, 0, timeout=120)
    try:
        yield
    finally:
        (root / stop).touch()
        deadline = time.monotonic() + 120
        runs: list = []
        while time.monotonic() < deadline:
            runs = [r for r in hypertuner.runs(root / "runs") if r.name.startswith(run)]
            if runs and all(r.status == "finished" for r in runs):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the cell did not end after {stop} appeared: {runs}")


def choose_theme(page: Page, theme: str) -> None:
    """Switch JupyterLab's theme from its Settings menu and wait until the page wears it."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{theme}$")).click()
    light = "false" if "Dark" in theme else "true"
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'")


def luminance(rgb) -> float:
    """WCAG's relative luminance of an (r, g, b[, a]) colour in 0-255."""

    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(thing, background) -> float:
    """WCAG's contrast ratio of a colour drawn at an opacity over the background."""
    alpha = thing["opacity"] * (thing["stroke"][3] if len(thing["stroke"]) > 3 else 1)
    seen = [alpha * c + (1 - alpha) * b for c, b in zip(thing["stroke"], background)]
    high, low = sorted((luminance(seen), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
