"""Benchmark the live board as a person sees it: JupyterLab 4 in headless Chromium.

For each number of keys (5, 64, 500 by default) one notebook trains for about 30 s
at a fixed pace (100,000 steps), logging every key at every step, and the page
records what it shows. Printed side by side in one run:

- ``board built``: from the kernel's first log() to the board holding every chart,
  each chart in the page's viewport with its line (target: under 2 s at 500 keys);
- ``finish lag``: from the kernel leaving the training loop to the page's prompt
  showing the cell finished (target: under 2 s);
- ``long tasks``: the share of the training time the page spent in tasks over
  50 ms, from Chromium's long-task observer (target: under 30%);
- ``header lag``: how long before the moment the page showed "last step N" the
  kernel had logged step N; its worst and 95th percentile (target: under 1 s);
- ``KB/s``: websocket bytes the page received per second of training (target: under
  300 KB/s);
- ``shown/hidden``: log() µs per call with the board shown over without it, each
  loop run for a fixed time in the same kernel (target: at most 1.2x);
- ``reload``: the page saved and reloaded 10 s into training, the time until the
  board is back, every chart in view with its line, while the cell still runs
  (target: under 5 s).

The kernel writes when it logged what (its clock and the page's are the machine's
wall clock), so no figure relies on the page's own idea of progress.

Run ``python benchmarks/bench_browser.py`` (``--quick`` for a short smoke run); it
needs what the browser tests need (JupyterLab, Playwright and Debian's chromium).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

import lab  # noqa: E402 - the browser tests' helpers
from conftest import CHROMIUM_ARGS, VIEWPORT, find_chromium  # noqa: E402
from labserver import LabServer  # noqa: E402

# The training cell: `keys` keys per step, `steps` steps paced over `seconds`; the
# kernel's clock goes to `record` (its first log, a (time, step) sample every 50 ms,
# the loop's end). A `stop` file ends it early (the reload run ends once measured).
TRAIN = """\
import json, math, pathlib, time
import hypertuner

keys, steps, seconds = {keys}, {steps}, {seconds}
names = [f"{{('train', 'val', 'grad_norm', 'opt')[i % 4]}}/m{{i:03d}}" for i in range(keys)]
record = pathlib.Path({record!r})
stop = pathlib.Path({stop!r})
logger = hypertuner.Logger(name="bench-{keys}")
samples, first, start = [], None, time.time()
for step in range(steps):
    logger.log({{n: math.exp(-step / 20000) * (1 + i) + 0.01 * math.sin(step + i)
                for i, n in enumerate(names)}}, step)
    now = time.time()
    first = first or now
    if not samples or now - samples[-1][0] >= 0.05:
        samples.append((now, step))
        if stop.exists():
            break
    ahead = start + seconds * (step + 1) / steps - now
    if ahead > 0.002:
        time.sleep(ahead)
end = time.time()
record.write_text(json.dumps({{"first": first, "end": end, "samples": samples}}))
logger.close()
"""

# log() µs per call with the board shown and without, in one kernel, each loop run
# for `seconds`; alternated so that a slow spell of the machine hits both.
COST = """\
import json, math, pathlib, time
import hypertuner

keys, seconds = {keys}, {seconds}
names = [f"{{('train', 'val', 'grad_norm', 'opt')[i % 4]}}/m{{i:03d}}" for i in range(keys)]

def per_call(shown):
    logger = hypertuner.Logger(name=f"cost-{{keys}}", display=shown)
    step, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        logger.log({{n: 1.0 / (step + i + 1) for i, n in enumerate(names)}}, step)
        step += 1
    elapsed = time.perf_counter() - start
    logger.close()
    return elapsed / step * 1e6

results = {{"hidden": [], "shown": []}}
for _ in range({repeat}):
    for shown in (False, True):
        results["shown" if shown else "hidden"].append(per_call(shown))
pathlib.Path({record!r}).write_text(json.dumps(results))
"""

# Runs in the page from its first script on (and again after a reload): long tasks
# and, every 50 ms, what the first cell's prompt and the board's header say.
PROBE = """
const bench = (window.__bench = { long: [], samples: [] });
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      bench.long.push([performance.timeOrigin + e.startTime, e.duration]);
    }
  }).observe({ type: 'longtask', buffered: true });
} catch (err) { bench.noLongTasks = String(err); }
setInterval(() => {
  const prompt = document.querySelector(PROMPT);
  const header = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .ht-header');
  const text = (el) => (el ? el.textContent : '');
  bench.samples.push([Date.now(), text(prompt), text(header)]);
}, 50);
""".replace("PROMPT", json.dumps(lab.PROMPT))

# True once the board has all its charts and every chart a person can see (in the
# page's viewport) has its line; charts scrolled away are drawn as they come near.
DRAWN = """
(keys) => {
  const board = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .ht-board');
  if (!board) return false;
  const charts = board.querySelectorAll('.ht-chart');
  if (charts.length < keys) return false;
  for (const figure of charts) {
    const box = figure.getBoundingClientRect();
    if (box.bottom < 0 || box.top > innerHeight || box.height === 0) continue;
    const path = figure.querySelector('svg.svg-figure g.curve path.line');
    if (!path || (path.getAttribute('d') || '').length < 20) return false;
  }
  return true;
}
"""


class Bench:
    def __init__(self, browser, server: LabServer) -> None:
        self.browser, self.server = browser, server
        self.root = server.root_dir

    def notebook(self, name: str, *cells: str) -> None:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, self.root / name)

    def page(self):
        context = self.browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.add_init_script(PROBE)
        page.frames_received = []  # (wall time, bytes) of every websocket frame
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda payload: page.frames_received.append((time.time(), size(payload))),
            ),
        )
        return page

    def open_and_run(self, page, name: str) -> None:
        lab.open_notebook(page, self.server.url, name)
        lab.collapse_left_sidebar(page)
        lab.run_all(page)

    def wait_record(self, record: Path, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while not record.exists() or not record.read_text():
            if time.monotonic() > deadline:
                raise SystemExit(f"no kernel record after {timeout:.0f} s: {record}")
            time.sleep(0.1)
        return json.loads(record.read_text())

    def training(self, stem: str, keys: int, steps: int, seconds: float) -> tuple:
        """A paced training notebook: its name, the kernel's record and its stop file."""
        name, record, stop = f"{stem}.ipynb", self.root / f"{stem}.json", self.root / f"{stem}.stop"
        record.unlink(missing_ok=True)
        stop.unlink(missing_ok=True)
        cell = TRAIN.format(
            keys=keys, steps=steps, seconds=seconds, record=str(record), stop=str(stop)
        )
        self.notebook(name, cell)
        return name, record, stop

    def train(self, keys: int, steps: int, seconds: float) -> dict:
        """One paced training run of `keys` keys: the figures the page showed."""
        name, record, stop = self.training(f"train-{keys}", keys, steps, seconds)
        page = self.page()
        try:
            self.open_and_run(page, name)
            built = self.built_at(page, keys, timeout=seconds + 120)
            kernel = self.wait_record(record, timeout=seconds * 4 + 120)
            lab.wait_all_done(page, timeout=300)
            page.wait_for_timeout(500)
            probe = page.evaluate("window.__bench")
        finally:
            page.context.close()
            self.server.shutdown_kernels()
        return figures(kernel, probe, page.frames_received, built)

    def built_at(self, page, keys: int, timeout: float) -> float:
        """The wall time at which the board had every chart and the ones in view their
        lines (polled every 50 ms)."""
        deadline = time.monotonic() + timeout
        while not page.evaluate(DRAWN, keys):
            if time.monotonic() > deadline:
                raise SystemExit(f"the {keys}-key board was not drawn within {timeout:.0f} s")
            page.wait_for_timeout(50)
        return time.time()

    def reload(self, keys: int, steps: int, seconds: float, at: float) -> float:
        """Save and reload `at` s into training: seconds until every chart is drawn."""
        name, record, stop = self.training(f"reload-{keys}", keys, steps, seconds)
        page = self.page()
        try:
            self.open_and_run(page, name)
            self.built_at(page, keys, timeout=120)
            page.wait_for_timeout(at * 1000)
            page.locator(f"{lab.PANEL} .jp-Toolbar [data-command='docmanager:save']").click()
            page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)")
            reloaded = time.time()
            page.reload(wait_until="domcontentloaded")
            back = self.built_at(page, keys, timeout=120)
            if record.exists():
                raise SystemExit("training ended before the reloaded page was back: make it longer")
            stop.touch()
            self.wait_record(record, timeout=120)
        finally:
            stop.touch()
            page.context.close()
            self.server.shutdown_kernels()
        return back - reloaded

    def cost(self, keys: int, seconds: float, repeat: int) -> tuple[float, float]:
        """Median log() µs per call without the board and with it shown."""
        name, record = f"cost-{keys}.ipynb", self.root / f"cost-{keys}.json"
        record.unlink(missing_ok=True)
        cell = COST.format(keys=keys, seconds=seconds, repeat=repeat, record=str(record))
        self.notebook(name, cell)
        page = self.page()
        try:
            self.open_and_run(page, name)
            result = self.wait_record(record, timeout=repeat * seconds * 2 * 4 + 180)
        finally:
            page.context.close()
            self.server.shutdown_kernels()
        return median(result["hidden"]), median(result["shown"])


def size(payload: str | bytes) -> int:
    """A websocket frame's size in bytes."""
    return len(payload) if isinstance(payload, bytes) else len(payload.encode())


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def figures(kernel: dict, probe: dict, frames: list, built: float) -> dict:
    first, end = kernel["first"], kernel["end"]
    logged = kernel["samples"]  # (kernel time, step), every 50 ms

    def logged_at(step: int) -> float:
        """When the kernel had logged `step` (the first sample at or past it)."""
        for when, done in logged:
            if done >= step:
                return when
        return end

    lags = []
    finished = None
    for when, prompt, header in probe["samples"]:
        now = when / 1000
        if finished is None and now > end and "[*]" not in prompt and "[" in prompt:
            finished = now
        if first + 2 < now < end and "last step " in header:
            shown = int(header.split("last step ")[1].split(" ")[0].replace(",", ""))
            lags.append(max(0.0, now - logged_at(shown)))
    lags.sort()
    training = end - first
    busy = sum(
        min(start / 1000 + duration / 1000, end) - max(start / 1000, first)
        for start, duration in probe["long"]
        if start / 1000 + duration / 1000 > first and start / 1000 < end
    )
    received = sum(size for when, size in frames if first <= when <= end)
    return {
        "built": built - first,
        "finish_lag": (finished - end) if finished else float("nan"),
        "long_share": busy / training,
        "header_worst": lags[-1] if lags else float("nan"),
        "header_p95": lags[int(len(lags) * 0.95)] if lags else float("nan"),
        "kb_per_s": received / training / 1000,
        "seconds": training,
        "long_tasks": "n/a" if "noLongTasks" in probe else len(probe["long"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 5 keys")
    parser.add_argument("--keys", default="5,64,500", help="key counts, comma-separated")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    keys = [5] if args.quick else [int(k) for k in args.keys.split(",")]
    steps, seconds = (2_000, 3.0) if args.quick else (args.steps, args.seconds)
    cost_seconds, repeat = (1.0, 1) if args.quick else (4.0, 3)

    executable = find_chromium()
    if executable is None:
        raise SystemExit("needs Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    server = LabServer(root_dir=base / "root", state_dir=base / "state")
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            bench = Bench(browser, server)
            print(f"JupyterLab + headless Chromium, {steps:,} steps over {seconds:.0f} s per run")
            print(
                f"{'keys':>5} {'board built':>12} {'finish lag':>11} {'long tasks':>11} "
                f"{'header lag worst/p95':>21} {'KB/s':>7} "
                f"{'log() hidden → shown':>22} {'ratio':>6}"
            )
            for count in keys:
                shown = bench.train(count, steps, seconds)
                hidden_us, shown_us = bench.cost(count, cost_seconds, repeat)
                print(
                    f"{count:>5} {shown['built']:>10.2f} s {shown['finish_lag']:>9.2f} s "
                    f"{shown['long_share']:>10.0%} "
                    f"{shown['header_worst']:>9.2f} s / {shown['header_p95']:.2f} s "
                    f"{shown['kb_per_s']:>7.0f} "
                    f"{hidden_us:>9.1f} → {shown_us:.1f} µs {shown_us / hidden_us:>5.2f}x",
                    flush=True,
                )
            at = 2.0 if args.quick else 10.0
            count = keys[0] if args.quick else 64
            back = bench.reload(count, steps * 10, seconds * 10, at)
            print(
                f"reload {at:.0f} s into training, {count} keys: every chart back in {back:.2f} s"
            )
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
