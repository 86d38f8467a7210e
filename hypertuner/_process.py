"""The loggers open in this process, and how the process's end reaches them.

- At interpreter exit every open run is closed (``finished``), unless an uncaught
  exception ended the program first: ``sys.excepthook`` then closes them as
  ``crashed`` with the error (``interrupted`` for Ctrl-C). A thread that dies of an
  uncaught exception closes, as ``crashed``, the runs it created.
- A forked child (DataLoader workers, multiprocessing's fork start method) holds a
  copy of every logger. Right after the fork each copy is detached: it never
  writes, closes or marks its parent's run, it inherits no lock held, and the
  child's exit leaves the parent's files alone.

The hooks are installed with the first logger, and chain to the ones found there.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any, Protocol

__all__ = ["register", "status_of", "unregister"]


class _Run(Protocol):
    def _end(self, status: str, error: BaseException | None) -> None: ...
    def _detach(self) -> None: ...
    def _owned_by(self, thread: threading.Thread) -> bool: ...


_open: dict[int, _Run] = {}  # id -> logger, in the order they were opened
_installed = False
_lock = threading.Lock()


def register(run: _Run) -> None:
    """Track an open logger until :func:`unregister`; install the hooks on first use."""
    global _installed
    with _lock:
        if not _installed:
            _install()
            _installed = True
        _open[id(run)] = run


def unregister(run: _Run) -> None:
    """Forget a logger that closed."""
    with _lock:
        _open.pop(id(run), None)


def _open_runs() -> list[_Run]:
    with _lock:
        return list(_open.values())


def status_of(error: BaseException | None) -> str:
    """The status a run ends with when ``error`` ends it (None: it ended normally).

    ``sys.exit(0)`` and a generator closed early are normal ends; Ctrl-C interrupts;
    anything else, a non-zero ``sys.exit`` included, is a crash.
    """
    if error is None or isinstance(error, GeneratorExit):
        return "finished"
    if isinstance(error, SystemExit) and error.code in (0, None):
        return "finished"
    return "interrupted" if isinstance(error, KeyboardInterrupt) else "crashed"


def _install() -> None:
    atexit.register(_at_exit)

    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        # The program is ending on this error: its runs end with it.
        for run in _open_runs():
            run._end(status_of(error), error)
        previous_hook(kind, error, tb)

    sys.excepthook = excepthook

    previous_thread_hook = threading.excepthook

    def thread_excepthook(args: Any) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            for run in _open_runs():
                if run._owned_by(args.thread):
                    run._end(status_of(args.exc_value), args.exc_value)
        previous_thread_hook(args)

    threading.excepthook = thread_excepthook

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    for run in _open_runs():
        run._end("finished", None)


def _after_fork_in_child() -> None:
    global _lock
    # The parent's lock may have been held by one of its threads at the fork: in the
    # child no thread will ever release it.
    _lock = threading.Lock()
    runs = list(_open.values())
    _open.clear()
    for run in runs:
        run._detach()
