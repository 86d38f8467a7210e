"""The live sweep view in JupyterLab and Chromium, while the sweep runs and once it ended.

A notebook cell starts ``hypertuner.sweep`` of a small script over a 7 x 2 grid and
returns at once; the view it shows must then grow by itself. The trials wait at a
gate the test holds (a file holding how many trials may finish: trial ``n`` ends
once it holds more than ``n``), so at each allowance the sweep settles in a state
the test reads back from the trial folders on disk, however loaded the machine:
every trial below the allowance complete, the diverging ones (lr >= 0.3) pruned by
a ``ThresholdPruner`` at step 9, and ``parallel`` trials held, running. Tests share
the one run, in file order; the gate is released when the module ends, pass or fail.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
from pathlib import Path

import lab
import pytest

import hypertuner

pytestmark = pytest.mark.browser

FOLDER = "sweep_view"  # under the server's root: the notebook, the script, the sweep
RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
WIDTHS = [32, 64]
TRIALS = len(RATES) * len(WIDTHS)
PARALLEL = 2
HALF = 10  # steps a trial logs before its gate; the pruner judges step HALF - 1
STEPS = 30
THRESHOLD = 2.0  # the diverging trials pass it by step HALF - 1, the others never
ALLOWANCES = [0, 5, 9]  # how many trials may finish, stage by stage

# Diverging trials rise past THRESHOLD; the others fall towards a floor lowest at
# lr = 0.01 (the small lr and width terms make every trial's value distinct).
SCRIPT = """
import math, time
from pathlib import Path
import hypertuner

GATE = Path({gate!r})
p = hypertuner.params({{"lr": 0.01, "width": 32}})
diverges = p.lr >= 0.3

def loss(step):
    if diverges:
        return 0.9 + 0.25 * step
    floor = 0.2 + 0.25 * (math.log10(p.lr) + 2) ** 2 + 0.03 * (p.width == 64) + 0.05 * p.lr
    return floor + math.exp(-step / 6)

def allowed():
    try:
        return float(GATE.read_text())
    except (OSError, ValueError):
        return 0.0

with hypertuner.Logger(flush_every=1000) as log:  # flushed here only: judged at step {last}
    number = int(log.path.name.rsplit("-", 1)[1])
    for step in range({half}):
        log.log({{"val/loss": loss(step)}}, step)
    log.flush()
    while not log.should_stop and (diverges or allowed() <= number):
        time.sleep(0.02)
    if not log.should_stop:
        for step in range({half}, {steps}):
            log.log({{"val/loss": loss(step)}}, step)
"""

CELL = f"""
import optuna
import hypertuner

sweep = hypertuner.sweep(
    "train.py",
    {{"lr": {RATES!r}, "width": {WIDTHS!r}}},
    objective="val/loss",
    sampler="grid", seed=0,
    pruner=optuna.pruners.ThresholdPruner(upper={THRESHOLD}),
    trials={TRIALS}, parallel={PARALLEL},
    dir="sweep",
)
"""

# What a person sees of the view.
_READ_VIEW = """
(view) => {
  const header = view.querySelector(".ht-sweep-header");
  const rows = [...view.querySelectorAll("table.ht-trials tbody tr")].map((tr) => ({
    number: Number(tr.dataset.trial),
    state: tr.querySelector(".ht-chip").textContent,
    chip: getComputedStyle(tr.querySelector(".ht-chip")).backgroundColor,
    best: tr.classList.contains("ht-best-row"),
    note: tr.querySelector(".ht-trial-note").textContent,
    stop: !!tr.querySelector("button[data-testid^=stop-]"),
    step: tr.querySelector("td[data-column=step]").textContent,
  }));
  const vertices = (path) =>
    ((path && path.getAttribute("d")) || "").split(/[ML]/).filter((s) => s.trim()).length;
  const best = view.querySelector(".ht-best");
  const curves = view.querySelector(".ht-board .ht-chart");
  const shown = (el) => !!el && getComputedStyle(el).display !== "none"
    && getComputedStyle(el).visibility !== "hidden";
  return {
    header: header ? header.textContent : "",
    rows,
    best_title: best ? (best.querySelector(".mainheading") || {}).textContent : null,
    best_line: best ? vertices(best.querySelector("path.line")) : 0,
    best_dots: best ? best.querySelectorAll(".dot").length : 0,
    curves: curves
      ? [...curves.querySelectorAll("path.line")].filter((p) => vertices(p) > 1 && shown(p)).length
      : 0,
    pruned_marks: curves ? [...curves.querySelectorAll(".dot")].filter(shown).length : 0,
    lines: [...view.querySelectorAll("polyline.ht-pc-line")].map((line) => ({
      number: Number(line.dataset.trial),
      state: line.dataset.state,
      stroke: getComputedStyle(line).stroke,
    })),
  };
}
"""

GREY = "rgb(176, 176, 176)"  # view.PRUNED_GREY, as the browser reports it


class Gate:
    """The file the trials wait at: trial n finishes once it holds a number above n."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def allow(self, trials: float) -> None:
        scratch = self.path.with_name(self.path.name + ".tmp")
        scratch.write_text(f"{trials}\n")
        os.replace(scratch, self.path)  # a trial never reads half a number


class SweepPage:
    """The page running the sweep notebook, the gate and the trial folders on disk."""

    def __init__(self, page, gate: Gate, folder: Path, artifacts: Path) -> None:
        self.page, self.gate, self.folder, self.artifacts = page, gate, folder, artifacts
        self.runs = folder / "sweep" / "runs"

    def on_disk(self) -> dict[int, tuple[bool, str, int]]:
        """Each trial launched: number -> (diverges, its run's status, objective points)."""
        found = {}
        for trial in sorted(self.runs.iterdir()) if self.runs.is_dir() else []:
            try:
                params = json.loads((trial / "params.json").read_text())
                run = hypertuner.load(trial)
                points = len(run["val/loss"]) if "val/loss" in run else 0
            except (hypertuner.HypertunerError, OSError, ValueError):
                continue  # being made
            found[int(trial.name.rsplit("-", 1)[1])] = (params["lr"] >= 0.3, run.status, points)
        return found

    def settle(self, allowance: int, stopped: set[int] = frozenset(), timeout: float = 300):
        """Let ``allowance`` trials finish; wait until the sweep on disk can go no further.

        Returns each launched trial's state then: trials below the allowance are
        complete, diverging (or ``stopped``) ones pruned, the rest held running.
        """
        self.gate.allow(allowance)
        deadline = time.monotonic() + timeout
        while True:
            trials = self.on_disk()
            want, settled = {}, True
            for number, (diverges, status, points) in trials.items():
                if diverges or number in stopped:
                    want[number] = "pruned"
                    settled &= status == "pruned"
                elif number < allowance:
                    want[number] = "complete"
                    settled &= status == "finished" and points == STEPS
                else:
                    want[number] = "running"
                    settled &= status == "running" and points == HALF
            held = sum(state == "running" for state in want.values())
            if settled and (held == PARALLEL or len(trials) == TRIALS):
                return want
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the sweep did not settle at allowance {allowance} in {timeout} s; "
                    f"on disk (diverges, status, points): {trials}"
                )
            self.page.wait_for_timeout(100)

    def view(self):
        return lab.code_cell(self.page, 0).locator(".ht-sweep").last

    def read(self) -> dict:
        return self.view().evaluate(_READ_VIEW)

    def wait_for(self, condition, what: str, timeout: float = 180.0) -> dict:
        """Poll the view until ``condition(state)`` holds; return that state."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                state = self.read()
                if condition(state):
                    return state
                last = state
            except Exception as exc:  # noqa: BLE001 - not drawn yet: keep polling
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}; last seen: {last}")
            self.page.wait_for_timeout(100)

    def shows(self, want: dict[int, str]):
        """A condition: the table lists exactly these trials in these states, each at
        its last step on disk, and the curves end with a mark per pruned trial."""
        last = {"complete": str(STEPS - 1), "pruned": str(HALF - 1), "running": str(HALF - 1)}
        pruned = sum(state == "pruned" for state in want.values())
        return lambda state: (
            {r["number"]: (r["state"], r["step"]) for r in state["rows"]}
            == {number: (s, last[s]) for number, s in want.items()}
            and state["pruned_marks"] == pruned
        )

    def shot(self, name: str) -> None:
        self.page.mouse.move(0, 0)
        lab.screenshot(self.view(), self.artifacts, f"sweep_{name}")


@pytest.fixture(scope="module")
def trial_gate(lab_server):
    """The trials' gate, shut before the notebook runs and opened when the module ends."""
    folder = lab_server.root_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    gate = Gate(folder / "allow")
    gate.allow(0)
    try:
        yield gate
    finally:
        gate.allow(float("inf"))


@pytest.fixture(scope="module")
def sweep_page(page, trial_gate, lab_server, artifacts_dir) -> SweepPage:
    """The notebook, Run All'd: its one cell has started the sweep and shows the view."""
    folder = lab_server.root_dir / FOLDER
    script = SCRIPT.format(gate=str(trial_gate.path), half=HALF, steps=STEPS, last=HALF - 1)
    (folder / "train.py").write_text(textwrap.dedent(script))
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "start-sweep",
                "metadata": {},
                "outputs": [],
                "source": CELL.strip(),
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "sweep_view.ipynb").write_text(json.dumps(notebook))
    lab.open_notebook(page, lab_server.url, f"{FOLDER}/sweep_view.ipynb")
    lab.collapse_left_sidebar(page)
    lab.run_all(page)
    lab.wait_all_done(page, timeout=120)  # the sweep returns at once: the cell ends
    return SweepPage(page, trial_gate, folder, artifacts_dir)


def test_the_table_grows_while_the_sweep_runs(sweep_page):
    """At each allowance the table lists the trials on disk in their states, and grows."""
    counts = []
    for allowance in ALLOWANCES:
        want = sweep_page.settle(allowance)
        state = sweep_page.wait_for(
            sweep_page.shows(want), f"the table shows the trials on disk at allowance {allowance}"
        )
        assert lab.prompts(sweep_page.page) == ["1"], "the cell starting the sweep is still busy"
        running = [r for r in state["rows"] if r["state"] == "running"]
        assert len(running) == PARALLEL and all(r["stop"] for r in running)
        assert f"{len(want)} of {TRIALS} trials" in state["header"]
        assert f"{PARALLEL} running" in state["header"]
        counts.append(len(state["rows"]))
        if allowance == ALLOWANCES[1]:
            sweep_page.shot("1_running")
    assert counts == sorted(set(counts)), f"the table did not grow at each stage: {counts}"


def test_pruned_trials_are_marked_pruned(sweep_page):
    """Diverging trials read pruned at step 9 in their own chip colour, greyed on the
    parallel coordinates, each with a mark where its curve was stopped."""
    state = sweep_page.read()
    pruned = [r for r in state["rows"] if r["state"] == "pruned"]
    assert pruned, state["rows"]
    assert {r["note"] for r in pruned} == {f"pruned at step {HALF - 1}"}
    chips = {r["state"]: r["chip"] for r in state["rows"]}
    assert len(set(chips.values())) == len(chips), chips  # one colour per state
    lines = {line["number"]: line for line in state["lines"]}
    assert {lines[r["number"]]["stroke"] for r in pruned} == {GREY}
    assert all(line["stroke"] != GREY for line in lines.values() if line["state"] != "pruned")
    sweep_page.wait_for(
        lambda s: s["pruned_marks"] == len(pruned), f"{len(pruned)} pruned marks on the curves"
    )


def test_a_running_trial_stops_from_its_button(sweep_page):
    """A running trial's stop button stops it; it then reads stopped, and pruned."""
    held = [r["number"] for r in sweep_page.read()["rows"] if r["state"] == "running"]
    chosen = min(held)
    sweep_page.view().locator(f"[data-testid='stop-{chosen}']").click()
    want = sweep_page.settle(ALLOWANCES[-1], stopped={chosen})
    state = sweep_page.wait_for(sweep_page.shows(want), f"trial {chosen} reads pruned")
    row = next(r for r in state["rows"] if r["number"] == chosen)
    assert row["note"] == f"stopped at step {HALF - 1}" and not row["stop"]


def test_the_ended_sweep(sweep_page):
    """Once every trial ended: all listed, the best marked, the best-so-far curve and
    every trial's curve drawn, the stop button done."""
    sweep_page.gate.allow(float("inf"))
    state = sweep_page.wait_for(
        lambda s: (
            len(s["rows"]) == TRIALS
            and all(r["state"] in ("complete", "pruned") for r in s["rows"])
            and "ended" in s["header"]
        ),
        f"all {TRIALS} trials ended",
        timeout=180,
    )
    trials = sweep_page.on_disk()
    final = {}
    for trial in sorted(sweep_page.runs.iterdir()):
        run = hypertuner.load(trial)
        if run.status == "finished":
            final[int(trial.name.rsplit("-", 1)[1])] = float(run["val/loss"].values[-1])
    best = min(final, key=final.get)
    assert [r["number"] for r in state["rows"] if r["best"]] == [best]
    pruned = TRIALS - len(final)
    assert (
        f"{TRIALS} of {TRIALS} trials · 0 running, {len(final)} complete, {pruned} pruned, "
        f"0 failed · best val/loss {final[best]:.6g} (trial {best})"
    ) in state["header"]
    # The best so far: a step line through each complete trial (and on to the last),
    # over a dot per trial with a value.
    assert state["best_line"] >= 2 and state["best_dots"] == TRIALS, state
    assert state["best_title"].startswith("best val/loss so far")
    assert state["curves"] >= TRIALS and state["pruned_marks"] == pruned, state
    assert len(state["lines"]) == TRIALS
    assert len(trials) == TRIALS
    assert sweep_page.view().locator("button", has_text="Sweep ended").is_disabled()
    sweep_page.shot("2_ended")


BACKGROUND = """() => {
  const probe = document.createElement("div");
  probe.style.background = "var(--jp-layout-color0)";
  document.body.appendChild(probe);
  const colour = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return colour;
}"""


def rgb(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[\d.]+", text)[:3]]


def test_the_best_trial_stands_out_in_either_theme(sweep_page, page):
    """The parallel coordinates colour the best trial the most salient: viridis's darkest
    on white, its brightest on JupyterLab's dark background, where every complete
    trial's line still reads at 3:1 or more (WCAG's ratio for graphics)."""

    def best_stroke(state: dict) -> str | None:
        best = [r["number"] for r in state["rows"] if r["best"]]
        strokes = [line["stroke"] for line in state["lines"] if line["number"] in best]
        return strokes[0] if strokes else None

    light = best_stroke(sweep_page.read())
    assert light == "rgb(68, 1, 84)", light  # RAMP[0], #440154
    lab.choose_theme(page, "JupyterLab Dark")
    try:
        dark = sweep_page.wait_for(
            lambda s: best_stroke(s) == "rgb(253, 231, 37)",  # RAMP_DARK[0], #fde725
            "the best trial's line takes viridis's brightest in the dark theme",
        )
        background = rgb(page.evaluate(BACKGROUND))
        assert lab.luminance(background) < 0.05, background
        complete = [line for line in dark["lines"] if line["state"] == "complete"]
        ratios = {
            line["number"]: lab.contrast({"stroke": rgb(line["stroke"]), "opacity": 1}, background)
            for line in complete
        }
        assert len(complete) >= 2 and min(ratios.values()) >= 3.0, ratios
        sweep_page.shot("3_dark")
    finally:
        lab.choose_theme(page, "JupyterLab Light")
    sweep_page.wait_for(lambda s: best_stroke(s) == light, "the light ramp is back")


def test_no_errors_anywhere(sweep_page, page):
    """No traceback or stderr output, and nothing logged as an error in the console."""
    assert lab.stderr_outputs(page) == []
    assert page.console_log.errors == []
