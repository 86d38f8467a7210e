"""Ticking any run redraws the overlay while another cell keeps the kernel busy.

The browser holds lines for the ticked runs and the latest others (compare.HELD), so
ticking one of those is drawn in the page alone. Ticking an older run needs the
kernel to send its lines: here the busy cell only sleeps (as ``trainer.wait()``
does), so nothing of the board's runs in it, and the view's answering thread must
take the tick. The cell ends when the test writes its stop file.
"""

from __future__ import annotations

import time

import lab
import pytest
from board_dom import look_at
from test_compare_page import _READ_VIEW, chart

import hypertuner
from hypertuner.board.compare import HELD, OVERLAID

pytestmark = pytest.mark.browser

NAME = "compare_busy.ipynb"
FOLDER = "busy-runs"
STOP = "busy-stop"
RUNS = HELD + 4
VIEW = f"import hypertuner\nhypertuner.compare({FOLDER!r})"
BUSY = f"import pathlib, time\nwhile not pathlib.Path({STOP!r}).exists():\n    time.sleep(0.05)"


def test_ticking_a_run_not_held_draws_it_while_another_cell_sleeps(page, lab_server):
    root = lab_server.root_dir
    names = []
    for number in range(RUNS):  # oldest first
        with hypertuner.Logger(
            name=f"busy-{number:02d}", dir=root / FOLDER, params={"lr": 0.001 * (number + 1)}
        ) as logger:
            for step in range(50):
                logger.log({"loss": (number + 1) / (step + 1)}, step)
        names.append(logger.name)
    oldest = names[0]  # neither overlaid at first nor among the latest held
    assert oldest not in names[-HELD:] and oldest not in names[-OVERLAID:]

    (root / STOP).unlink(missing_ok=True)
    lab.open_cells(page, lab_server, NAME, [VIEW, BUSY])
    lab.run_all(page)
    try:
        lab.wait_running(page, 1, timeout=120)
        view = lab.code_cell(page, 0).locator(".ht-compare").last

        def read() -> dict:
            look_at(view.locator(".ht-board .ht-chart").first)
            return view.evaluate(_READ_VIEW)

        def wait_for(condition, what: str, timeout: float = 60.0) -> dict:
            deadline = time.monotonic() + timeout
            state = None
            while time.monotonic() < deadline:
                try:
                    state = read()
                    if condition(state):
                        return state
                except Exception as exc:  # noqa: BLE001 - not drawn yet: keep polling
                    state = f"{type(exc).__name__}: {exc}"
                page.wait_for_timeout(200)
            raise AssertionError(f"timed out waiting until {what}; last seen: {state}")

        def colours(state: dict) -> set[str]:
            return {line["color"] for line in chart(state, "loss")["lines"]}

        state = wait_for(lambda s: len(s["rows"]) == RUNS, f"the table lists {RUNS} runs")
        swatch = {row["name"]: row["color"] for row in state["rows"]}
        overlaid = {swatch[name] for name in names[-OVERLAID:]}
        wait_for(lambda s: colours(s) == overlaid, f"the latest {OVERLAID} runs are overlaid")
        assert lab.prompts(page)[1] == "*", "the sleeping cell ended before the tick"

        view.locator(f"[data-testid='select-{oldest}']").check()
        started = time.monotonic()
        wait_for(
            lambda s: colours(s) == overlaid | {swatch[oldest]},
            f"{oldest} (not held by the browser) joins the overlay while the kernel sleeps",
        )
        print(f"a tick of a run not held drew it within {time.monotonic() - started:.2f} s")
        view.locator(f"[data-testid='select-{oldest}']").uncheck()
        wait_for(lambda s: colours(s) == overlaid, f"{oldest} leaves the overlay again")
        assert lab.prompts(page)[1] == "*", "the sleeping cell ended: the kernel was free"
    finally:
        (root / STOP).touch()
    lab.wait_all_done(page, timeout=120)
    assert lab.stderr_outputs(page) == []
