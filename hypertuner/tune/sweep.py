"""``hypertuner.sweep``: tune a training script's hyperparameters with Optuna.

Optuna samples each trial's params (ask) and learns from its result (tell); its
journal file in the sweep's folder is the study, so there is no server or database,
and calling :func:`sweep` again on the folder resumes it. Each trial is a process of
the unchanged training script, given its params file and told (through
``$HYPERTUNER_RUN_FOLDER``) which folder its run goes in. One controller thread
launches trials, follows each running trial's run file (reading only appended
bytes), reports the objective to Optuna and, when the pruner says so, asks the
trial to stop (:mod:`hypertuner.tune.launch`). A sweep folder holds::

    sweep.json       what is swept, and for what objective
    journal.log      Optuna's study
    controller.json  the live controller (pid, host, heartbeat): one at a time
    runs/trial-000/  one run per trial, with params.json, stdout.log, stderr.log
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._notebook import in_notebook
from ..errors import HypertunerError, HypertunerWarning, SweepError
from ..logger import TRIAL_FOLDER_ENV
from ..run import Run
from ..runinfo import INFO_FILE, process_start, read_json, replace_json, request_stop
from . import space as _space
from .launch import TrialSpec, end_orphan, run_trial

__all__ = ["Sweep", "SweepError", "Trial", "sweep"]

SWEEP_FILE = "sweep.json"
JOURNAL_FILE = "journal.log"
CONTROLLER_FILE = "controller.json"
RUNS_DIR = "runs"
STUDY_NAME = "hypertuner"
MODES = {"min": "minimize", "max": "maximize"}
SUMMARIES = ("last", "min", "max")
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband")
STATES = ("running", "complete", "pruned", "failed")
# A controller on another host is taken for dead once its heartbeat is this old.
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0
# Which of a trial's objective points are reported to Optuna, by their index: the
# first 64, then 32 per doubling. Trials that log on the same schedule report the
# same steps, which the pruners need to compare them at a step, and a trial logging
# its objective a million times writes about 500 reports to the journal, not 10^6.
_DENSE_POINTS = 64


def reported(index: int) -> bool:
    """Whether the objective's point number ``index`` (from 0) is reported to Optuna."""
    if index < _DENSE_POINTS:
        return True
    return index % (1 << (index.bit_length() - 6)) == 0


@dataclass
class Trial:
    """One trial of a sweep, as the controller last saw it.

    ``state`` is ``running``, ``complete``, ``pruned`` or ``failed``; ``value`` the
    objective (for a pruned trial the last value reported); ``params`` the nested
    params the script was given; ``error`` why it failed (the end of its stderr).
    """

    number: int
    state: str
    params: dict[str, Any]
    folder: Path
    value: float | None = None
    error: str | None = None
    pruned_step: int | None = None  # the step it was pruned at
    stop_seconds: float | None = None  # from the stop request seen to the process's end
    _sweep: Sweep | None = field(default=None, repr=False, compare=False)

    @property
    def run(self) -> Run | None:
        """The trial's run, read from its folder; None if the script made none (yet)."""
        if not (self.folder / INFO_FILE).exists():
            return None
        return Run(self.folder)

    def stop(self) -> None:
        """Stop this trial now, as if pruned (it reads ``pruned``); no-op once ended."""
        if self._sweep is not None:
            self._sweep.stop_trial(self.number)


@dataclass
class _Live:
    """A running trial, as the controller follows it."""

    trial: Any  # optuna.Trial
    folder: Path
    future: Any
    gpu: str | None = None
    run: Run | None = None
    seen: int = 0  # objective points read
    last_step: int = -1  # the last step given to a point (reported or not)
    reported_step: int | None = None
    reported_value: float | None = None
    stop_asked: str | None = None


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise SweepError(
            'hypertuner.sweep needs Optuna; install it with: pip install "hypertuner[sweep]"'
        ) from None
    return optuna


class Sweep:
    """A running (or ended) sweep; made by :func:`sweep`, which documents the arguments."""

    def __init__(
        self,
        script: str | os.PathLike[str],
        space: Mapping[str, Any],
        *,
        objective: str,
        mode: str = "min",
        summary: str = "last",
        trials: int = 16,
        parallel: int = 1,
        pruner: Any = "median",
        sampler: Any = "tpe",
        dir: str | os.PathLike[str] | None = None,
        backend: Any = None,
        gpus: Sequence[int | str] | None = None,
        args: Sequence[str] = (),
        seed: int | None = None,
        grace: float = 1.0,
        poll: float = 0.25,
        display: bool | None = None,
    ) -> None:
        self._script = _check_script(script)
        self._flat = _space.parse(space)
        if not isinstance(objective, str) or not objective:
            raise SweepError(
                f"objective must name a logged key, like 'val/loss' (got {objective!r})"
            )
        _one_of("mode", mode, tuple(MODES))
        _one_of("summary", summary, SUMMARIES)
        _count("trials", trials)
        _count("parallel", parallel)
        for name, value in (("grace", grace), ("poll", poll)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise SweepError(f"{name} must be a number of seconds, at least 0 (got {value!r})")
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise SweepError(f"args must be a list of strings for the script (got {args!r})")
        self._client = _check_backend(backend)
        self._gpus = _check_gpus(gpus, self._client)
        optuna = _optuna()
        self._optuna = optuna
        self._sampler = _make_sampler(optuna, sampler, self._flat, seed)
        self._pruner = _make_pruner(optuna, pruner)
        if sampler == "grid":
            combinations = math.prod(len(v) for v in _space.grid_of(self._flat).values())
            trials = min(trials, combinations)  # a grid is done once every cell was tried
        self._objective, self._mode, self._summary = objective, mode, summary
        self._total, self._parallel = trials, parallel
        self._args = tuple(args)
        self._grace, self._poll = float(grace), float(poll)
        self._dir = Path(dir) if dir is not None else Path("sweeps") / self._script.stem
        self._runs = self._dir / RUNS_DIR
        self._prepare_folder(sampler, pruner)
        self._claim()
        try:
            self._study = self._open_study()
            self._trials: dict[int, Trial] = {}
            self._lock = threading.Lock()
            self._live: dict[int, _Live] = {}
            self._listeners: list[Callable[[], Any]] = []
            self._heard = True  # every listener was called since it was added
            self._stopping = False
            self._error: BaseException | None = None
            self._objective_seen = False
            self._wake = threading.Event()
            self._done = threading.Event()
            self._resume()
        except BaseException:
            self._release()
            raise
        if self._client is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(parallel, thread_name_prefix="hypertuner-trial")
        self._thread = threading.Thread(target=self._loop, name="hypertuner-sweep")
        self._thread.start()
        self._view = None
        if display or (display is None and in_notebook()):
            self.show()

    # -- what a user reads -----------------------------------------------------

    @property
    def dir(self) -> Path:
        """The sweep's folder; its runs are in ``dir / "runs"``."""
        return self._dir

    @property
    def study(self) -> Any:
        """The ``optuna.Study`` (its storage is the sweep's journal file)."""
        return self._study

    @property
    def objective(self) -> str:
        return self._objective

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def total(self) -> int:
        """How many trials the sweep runs in all, counting those of earlier sessions."""
        return self._total

    @property
    def trials(self) -> list[Trial]:
        """Every trial so far, by number (a copy: it does not change as the sweep goes on)."""
        with self._lock:
            return [_copy(t) for _, t in sorted(self._trials.items())]

    @property
    def best(self) -> Trial | None:
        """The complete trial with the best objective, or None while none is complete."""
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        pick = min if self._mode == "min" else max
        return pick(done, key=lambda t: t.value)

    @property
    def running(self) -> bool:
        """True until every trial launched has ended and no more will be."""
        return not self._done.is_set()

    @property
    def error(self) -> BaseException | None:
        """Why the sweep stopped launching trials early, or None."""
        return self._error

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sweep ends (or ``timeout`` s pass); True if it ended.

        Ctrl-C while waiting stops the sweep at once (:meth:`stop` with
        ``now=True``), waits for the trials to end, and raises KeyboardInterrupt.

        Raises
        ------
        SweepError
            If the sweep stopped early: its objective was never logged, or the
            controller failed.
        """
        try:
            ended = self._done.wait(timeout)
        except KeyboardInterrupt:
            self.stop(now=True)
            self._done.wait()
            raise
        if ended:
            self._thread.join()
            view = self._view
            if view is not None:
                # The view draws the end from its own thread: let it, so that what a
                # cell run after wait() sees (or a notebook saved then keeps) is final.
                view.drawn(timeout)
            if self._error is not None:
                raise self._error
        return ended

    def stop(self, now: bool = False) -> None:
        """Launch no more trials; the running ones finish, or with ``now`` are stopped.

        Stopped trials are failed (Optuna learns nothing from them) and their runs
        read ``interrupted``.
        """
        with self._lock:
            self._stopping = True
            live = list(self._live.values()) if now else []
        for one in live:
            self._ask_stop(one, "stopped")
        self._wake.set()

    def stop_trial(self, number: int) -> None:
        """Stop trial ``number`` now, as if pruned; nothing if it is not running."""
        with self._lock:
            one = self._live.get(number)
        if one is not None:
            self._ask_stop(one, "pruned")
            self._wake.set()

    def show(self) -> Any:
        """Show the live sweep view in the notebook (once; later calls show it again)."""
        from IPython.display import display

        from .view import SweepView

        if self._view is None or self._view.comm is None:  # never shown, or closed
            self._view = SweepView(self)
        handle = display(self._view, display_id=True)
        if handle is not None:
            self._view.track(handle)  # the saved output ends with the final state
        return None

    def unwatch(self, listener: Callable[[], Any]) -> None:
        """Stop calling ``listener``; nothing if it was not watching."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def watch(self, listener: Callable[[], Any]) -> None:
        """Call ``listener()`` from the controller thread: soon, then whenever trials change.

        It runs after the controller's pruning decisions of that round, and once more
        when the sweep has ended (or at once, if it already has).
        """
        with self._lock:
            self._listeners.append(listener)
            self._heard = False
            ended = self._done.is_set()
        if ended:
            listener()
        self._wake.set()

    def __repr__(self) -> str:
        counts = {s: 0 for s in STATES}
        for trial in self.trials:
            counts[trial.state] += 1
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no trials yet"
        best = self.best
        tail = f"; best {self._objective} {best.value:.6g} (trial {best.number})" if best else ""
        return f"<hypertuner Sweep {str(self._dir)!r}: {self._total} trials, {shown}{tail}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.table())

    def table(self) -> str:
        """The trials as a text table: number, state, objective, swept params."""
        from .text import trials_text

        return trials_text(self)

    @property
    def space(self) -> dict[str, Any]:
        """The space as ``sweep.json`` records it: dotted name -> a fixed value, a list
        of choices, or ``{"uniform" | "loguniform" | "randint": [low, high]}``."""
        return {name: _describe(spec) for name, spec in self._flat.items()}

    @property
    def swept(self) -> list[str]:
        """The names of the swept parameters (dotted for nested ones)."""
        return [n for n, s in self._flat.items() if not isinstance(s, _space.Fixed)]

    # -- setting up --------------------------------------------------------------

    def _prepare_folder(self, sampler: Any, pruner: Any) -> None:
        described = {
            "script": str(self._script),
            "objective": self._objective,
            "mode": self._mode,
            "summary": self._summary,
            "space": self.space,
            "sampler": sampler if isinstance(sampler, str) else type(sampler).__name__,
            "pruner": pruner if isinstance(pruner, (str, type(None))) else type(pruner).__name__,
        }
        path = self._dir / SWEEP_FILE
        if path.exists():
            try:
                before = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise SweepError(f"cannot read {path}: {exc}; fix it or use another dir") from None
            for name in ("objective", "mode", "summary"):
                if before.get(name) != described[name]:
                    raise SweepError(
                        f"{self._dir} holds a sweep with {name}={before.get(name)!r}, not "
                        f"{described[name]!r}; pass the same, or another dir"
                    )
        elif (self._runs).is_dir() and any(self._runs.iterdir()):
            raise SweepError(f"{self._dir} holds runs but no {SWEEP_FILE}; use another dir")
        self._runs.mkdir(parents=True, exist_ok=True)
        replace_json(path, described)

    def _claim(self) -> None:
        """Become the folder's one controller, or say who already is."""
        path = self._dir / CONTROLLER_FILE
        mine = _controller_facts()
        for _ in range(2):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = read_json(path)
                if holder is not None and _alive_controller(holder):
                    raise SweepError(
                        f"{self._dir} is being swept by pid {holder.get('pid')} on "
                        f"{holder.get('host')}; wait for it, stop it, or use another dir"
                    ) from None
                path.unlink(missing_ok=True)  # its controller died: take over
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(mine, handle)
            return
        raise SweepError(f"could not claim {path}; another controller is starting")

    def _heartbeat(self) -> None:
        replace_json(self._dir / CONTROLLER_FILE, _controller_facts())

    def _release(self) -> None:
        (self._dir / CONTROLLER_FILE).unlink(missing_ok=True)

    def _open_study(self) -> Any:
        optuna = self._optuna
        if optuna.logging.get_verbosity() == optuna.logging.INFO:
            # Optuna's default prints a line per trial to stderr: the sweep view and
            # sweep.trials say the same without filling a notebook's output.
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        self._storage = JournalStorage(JournalFileBackend(str(self._dir / JOURNAL_FILE)))
        return optuna.create_study(
            storage=self._storage,
            study_name=STUDY_NAME,
            direction=MODES[self._mode],
            sampler=self._sampler,
            pruner=self._pruner,
            load_if_exists=True,
        )

    def _resume(self) -> None:
        """Take in the trials of earlier sessions; fail those left running by a dead one."""
        states = self._optuna.trial.TrialState
        for frozen in self._study.get_trials(deepcopy=False):
            folder = self._runs / frozen.user_attrs.get("folder", _folder_name(frozen.number))
            error = frozen.user_attrs.get("error")
            if frozen.state in (states.RUNNING, states.WAITING):
                end_orphan(folder)
                error = "the sweep's controller stopped while this trial ran"
                self._storage.set_trial_user_attr(frozen._trial_id, "error", error)
                self._study.tell(frozen.number, state=states.FAIL)
                state = "failed"
            else:
                state = _STATE_NAMES.get(frozen.state.name, "failed")
            value = frozen.value
            if state == "pruned" and frozen.intermediate_values:
                value = frozen.intermediate_values[max(frozen.intermediate_values)]
            if state == "complete":
                self._objective_seen = True
            self._trials[frozen.number] = Trial(
                number=frozen.number,
                state=state,
                params=read_json(folder / "params.json") or {},
                folder=folder,
                value=value,
                error=error,
                pruned_step=frozen.user_attrs.get("pruned_step"),
                _sweep=self,
            )

    # -- the controller ----------------------------------------------------------

    def _loop(self) -> None:
        beat = 0.0
        try:
            while True:
                if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                    self._heartbeat()
                    beat = time.monotonic()
                changed = self._collect()
                changed |= self._follow()
                while self._may_launch():
                    self._launch()
                    changed = True
                if changed or not self._heard:
                    self._heard = True
                    self._tell_listeners()
                with self._lock:
                    if not self._live and not self._may_launch():
                        break
                self._wake.wait(self._poll)
                self._wake.clear()
        except BaseException as exc:  # noqa: BLE001 - end the trials, then report it
            self._error = SweepError(f"the sweep's controller failed: {type(exc).__name__}: {exc}")
            self._error.__cause__ = exc
            self._end_all()
        finally:
            if self._client is None:
                self._executor.shutdown(wait=True)
            self._release()
            self._done.set()
            self._tell_listeners()

    def _may_launch(self) -> bool:
        return (
            not self._stopping
            and self._error is None
            and len(self._live) < self._parallel
            and len(self._trials) < self._total
            and (self._gpus is None or len(self._gpus) > 0)
        )

    def _launch(self) -> None:
        trial = self._study.ask()
        drawn = _space.suggest(trial, self._flat)
        params = _space.to_params(self._flat, drawn)
        name = _folder_name(trial.number)
        folder = (self._runs / name).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        params_file = folder / "params.json"
        replace_json(params_file, params)
        trial.set_user_attr("folder", name)
        env = {TRIAL_FOLDER_ENV: str(folder), "HYPERTUNER_DIR": str(self._runs.absolute())}
        gpu = self._gpus.pop(0) if self._gpus is not None else None
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        spec = TrialSpec(
            number=trial.number,
            folder=str(folder),
            args=(str(self._script), "--params", str(params_file), *self._args),
            env=env,
            cwd=str(Path.cwd()),
            grace=self._grace,
        )
        if self._client is None:
            future = self._executor.submit(run_trial, spec)
        else:
            future = self._client.submit(
                run_trial, spec, pure=False, key=f"hypertuner-trial-{trial.number}-{os.getpid()}"
            )
        future.add_done_callback(lambda _: self._wake.set())  # collect it at once
        with self._lock:
            self._live[trial.number] = _Live(trial=trial, folder=folder, future=future, gpu=gpu)
            self._trials[trial.number] = Trial(
                number=trial.number, state="running", params=params, folder=folder, _sweep=self
            )

    def _follow(self) -> bool:
        """Report the running trials' new objective points; prune where Optuna says."""
        changed = False
        for live in list(self._live.values()):
            if self._read_objective(live) and live.stop_asked is None:
                changed = True
                if live.trial.should_prune():
                    self._ask_stop(live, "pruned")
        return changed

    def _read_objective(self, live: _Live) -> bool:
        """Report a trial's objective points not yet reported; True if any were new.

        Also run for a trial that just ended, so that Optuna holds every complete
        trial's curve: the pruners judge running trials against those.
        """
        if live.run is None:
            if not (live.folder / INFO_FILE).exists():
                return False
            try:
                live.run = Run(live.folder)
            except HypertunerError:
                return False  # being made: try again next time
        try:
            live.run.refresh()
        except HypertunerError:
            return False
        series = live.run.get(self._objective)
        if series is None or series.kind not in ("number", "bool") or len(series) <= live.seen:
            return False
        steps, _, values = series.since(live.seen)
        first, live.seen = live.seen, live.seen + len(steps)
        for index, (step, value) in enumerate(zip(steps.tolist(), values.tolist()), first):
            # Optuna wants increasing integer steps; float, repeated or backward steps
            # are counted on from the last instead.
            if float(step).is_integer() and step > live.last_step:
                live.last_step = int(step)
            else:
                live.last_step += 1
            if reported(index):
                live.trial.report(float(value), live.last_step)
                live.reported_step, live.reported_value = live.last_step, float(value)
        return True

    def _ask_stop(self, live: _Live, reason: str) -> None:
        if live.stop_asked is not None:
            return
        live.stop_asked = reason
        try:
            request_stop(live.folder, reason)
        except OSError as exc:
            warnings.warn(
                f"hypertuner could not ask trial {live.trial.number} to stop: {exc}",
                HypertunerWarning,
                stacklevel=2,
            )

    def _collect(self) -> bool:
        """Tell Optuna how each trial whose process ended did."""
        states = self._optuna.trial.TrialState
        changed = False
        for number, live in list(self._live.items()):
            if not live.future.done():
                continue
            changed = True
            if live.gpu is not None:
                self._gpus.append(live.gpu)
            try:
                ended = live.future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its trial only
                ended, crash = None, f"the trial's task failed: {type(exc).__name__}: {exc}"
            trial = live.trial
            if ended is not None and ended.stop is None:
                self._read_objective(live)  # the points it logged since the last look
            value = error = None
            if ended is None:
                state, error = "failed", crash
            elif ended.stop == "pruned":
                state = "pruned"
                if live.reported_step is not None:
                    trial.set_user_attr("pruned_step", live.reported_step)
                    value = live.reported_value
            elif ended.stop is not None:
                state, error = "failed", "stopped by sweep.stop(now=True)"
            elif ended.returncode != 0:
                state, error = "failed", ended.error
            else:
                value, error = self._objective_of(live)
                state = "failed" if error else "complete"
                if error and not self._objective_seen:
                    self._error = SweepError(
                        f"{error}; the sweep launches no more trials. Log the objective "
                        "in the script, or name a key it logs as objective="
                    )
                elif not error:
                    self._objective_seen = True
            if error:
                trial.set_user_attr("error", error[-2000:])
            if state == "complete":
                self._study.tell(trial, value)
            else:
                self._study.tell(trial, state=states.PRUNED if state == "pruned" else states.FAIL)
            with self._lock:
                del self._live[number]
                self._trials[number] = Trial(
                    number=number,
                    state=state,
                    params=self._trials[number].params,
                    folder=live.folder,
                    value=value,
                    error=error,
                    pruned_step=live.reported_step if state == "pruned" else None,
                    stop_seconds=ended.stop_seconds if ended is not None else None,
                    _sweep=self,
                )
        return changed

    def _objective_of(self, live: _Live) -> tuple[float | None, str | None]:
        """The finished trial's objective, or why it has none."""
        number, key = live.trial.number, self._objective
        try:
            run = Run(live.folder)
        except HypertunerError as exc:
            return None, (
                f"trial {number} made no run ({exc}); its script must log with hypertuner.Logger()"
            )
        series = run.get(key)
        if series is None or not len(series):
            logged = ", ".join(repr(k) for k in run) or "nothing"
            return None, f"trial {number} logged no {key!r} (it logged {logged})"
        if series.kind not in ("number", "bool"):
            return None, f"trial {number} logged {key!r} as {series.kind}, not as numbers"
        last, low, high = series.stats()
        value = {"last": last, "min": low, "max": high}[self._summary]
        if not math.isfinite(value):
            return None, f"trial {number}: the objective {key!r} is {value}"
        return value, None

    def _end_all(self) -> None:
        """After a controller failure: stop every running trial and wait for it."""
        for live in list(self._live.values()):
            self._ask_stop(live, "stopped")
        for live in list(self._live.values()):
            try:
                live.future.result()
            except Exception:  # noqa: BLE001, S110 - it is being ended anyway
                pass

    def _tell_listeners(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception as exc:  # noqa: BLE001 - a broken view must not stop the sweep
                self.unwatch(listener)
                warnings.warn(
                    f"hypertuner stopped updating a sweep view: {type(exc).__name__}: {exc}",
                    HypertunerWarning,
                    stacklevel=1,
                )


_STATE_NAMES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}


def sweep(script: str | os.PathLike[str], space: Mapping[str, Any], **options: Any) -> Sweep:
    """Tune the hyperparameters of a training script; returns at once.

    Each trial runs ``python script --params <trial>/params.json [args]`` with params
    drawn from ``space``; the script reads them with ``hypertuner.params(defaults)``
    and logs with ``hypertuner.Logger()`` as it always does. In a notebook the live
    sweep view is shown.

    Parameters
    ----------
    script : str or path
        The training script.
    space : dict
        Param name -> a fixed value, a list (one of its items), or
        ``hypertuner.uniform(lo, hi)``, ``loguniform(lo, hi)``, ``randint(lo, hi)``.
        Nested dicts are nested params.
    objective : str
        The logged key to optimise, e.g. ``"val/loss"``.
    mode : "min" or "max"
        Whether a smaller or a larger objective is better.
    summary : "last", "min" or "max"
        Which of the objective's values is the trial's result.
    trials : int
        How many trials in all, counting those of earlier sessions on ``dir``.
    parallel : int
        How many trials run at once.
    pruner : None, "median", "hyperband" or an optuna pruner
        What stops unpromising trials early, judged from their live run files.
    sampler : "tpe", "random", "grid" or an optuna sampler
        How params are drawn. A grid needs a list for every param (a randint is
        its integers) and runs at most once per combination.
    dir : str or path
        The sweep's folder (default ``sweeps/<script name>``). Sweeping it again
        resumes the study; on a Dask cluster it must be shared storage.
    backend : None or dask.distributed.Client
        Where trials run: local processes, or one task per trial on the cluster.
    gpus : list, optional
        Local GPUs: each trial gets one of them as ``CUDA_VISIBLE_DEVICES``, and no
        more trials run at once than there are GPUs.
    args : list of str
        More arguments for the script, after ``--params``.
    seed : int, optional
        Seeds the sampler, for a sweep that draws the same params again.
    grace : float
        Seconds a trial asked to stop gets to end by itself (``Logger.should_stop``)
        before it is terminated; killed 5 s after that.
    display : bool, optional
        Show the sweep view; by default in a notebook only.

    Raises
    ------
    SweepError, SpaceError
        For bad arguments (naming the value), a folder another controller is
        sweeping, or a folder swept for another objective. ``SweepError`` names
        the extra to install when Optuna is missing.
    """
    return Sweep(script, space, **options)


# -- checks and small helpers ------------------------------------------------------


def _check_script(script: Any) -> Path:
    if not isinstance(script, (str, os.PathLike)):
        raise SweepError(f"script must be the path of a Python file (got {script!r})")
    path = Path(script).expanduser()
    if not path.is_file():
        where = "" if path.is_absolute() else f" (looked in {Path.cwd()})"
        raise SweepError(f"script {os.fspath(script)!r} not found{where}")
    return path.absolute()


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SweepError(f"{name} must be one of {', '.join(map(repr, allowed))} (got {value!r})")


def _count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepError(f"{name} must be a whole number of at least 1 (got {value!r})")


def _check_backend(backend: Any) -> Any:
    if backend is None or backend == "local":
        return None
    try:
        from distributed import Client
    except ImportError:
        Client = None  # noqa: N806
    if Client is None or not isinstance(backend, Client):
        raise SweepError(
            f"backend must be None (local processes) or a dask.distributed.Client (got {backend!r})"
        )
    return backend


def _check_gpus(gpus: Any, client: Any) -> list[str] | None:
    if gpus is None:
        return None
    if client is not None:
        raise SweepError("gpus= is for local trials; on Dask, give workers their GPUs")
    if isinstance(gpus, (str, bytes)) or not isinstance(gpus, Sequence) or not gpus:
        raise SweepError(f"gpus must be a non-empty list of GPU ids, like [0, 1] (got {gpus!r})")
    for gpu in gpus:
        if isinstance(gpu, bool) or not isinstance(gpu, (int, str)):
            raise SweepError(f"gpus must hold GPU ids (ints or strings); got {gpu!r}")
    return [str(gpu) for gpu in gpus]


def _make_sampler(optuna: Any, sampler: Any, flat: dict[str, Any], seed: int | None) -> Any:
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler == "grid":

        class Grid(optuna.samplers.GridSampler):
            # Optuna's grid calls study.stop() after its last cell, which only works
            # inside study.optimize(); here the sweep's trial count (capped at the
            # grid's size) ends it.
            def after_trial(self, *args: Any) -> None:
                pass

        return Grid(_space.grid_of(flat), seed=seed)
    raise SweepError(
        f"sampler must be one of {', '.join(map(repr, SAMPLERS))} or an optuna sampler "
        f"(got {sampler!r})"
    )


def _make_pruner(optuna: Any, pruner: Any) -> Any:
    if pruner is None:
        return optuna.pruners.NopPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner == "median":
        return optuna.pruners.MedianPruner()
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    raise SweepError(
        f"pruner must be None, {', '.join(map(repr, PRUNERS))} or an optuna pruner (got {pruner!r})"
    )


def _describe(spec: Any) -> Any:
    if isinstance(spec, _space.Fixed):
        return spec.value
    if isinstance(spec, _space.Choice):
        return list(spec.options)
    kind = {"Uniform": "uniform", "LogUniform": "loguniform", "RandInt": "randint"}
    return {kind[type(spec).__name__]: [spec.low, spec.high]}


def _folder_name(number: int) -> str:
    return f"trial-{number:03d}"


def _copy(trial: Trial) -> Trial:
    return Trial(**{**trial.__dict__})


def _controller_facts() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "pid_start": process_start(os.getpid()),
        "host": socket.gethostname(),
        "heartbeat": time.time(),
        "python": sys.executable,
    }


def _alive_controller(facts: dict[str, Any]) -> bool:
    if facts.get("host") != socket.gethostname():
        return time.time() - float(facts.get("heartbeat") or 0) < STALE_SECONDS
    pid = facts.get("pid")
    return isinstance(pid, int) and pid > 0 and process_start(pid) == facts.get("pid_start")
