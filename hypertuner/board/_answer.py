"""Answer the browser's widget messages while a cell is busy (ipykernel 7).

A page reloaded (or opened in a second tab) while a training cell runs asks the
kernel for every widget's state: ``kernel_info_request``, then comm messages on the
shell channel. ipykernel handles shell messages one at a time, so these wait until
the cell ends, and until then the board is gone from the page. :func:`answer` is
called from the board's redraw tick inside ``log()`` (on the main thread, between
two training steps): it takes the waiting shell messages, handles the kernel-info
and comm ones at once, as ipykernel itself does for comms while an async cell
awaits, and hands every other message (another cell to run, a completion request)
back to the kernel when the cell ends, in the order they came.

A cell that logs nothing (``trainer.wait()``, a sleep, a long evaluation) never
calls it, so a shown board or comparison also starts :func:`answer_in_background`:
a thread that does the same every tenth of a second, but only while a synchronous
cell runs. Then the main thread is inside the cell and its event loop, the only
other reader of the socket, reads nothing; an async cell's loop does read it, and
ipykernel then handles comms itself. A lock keeps the thread and the redraw tick
from reading at once. The same thread runs the chores given to it, such as drawing
the charts of a board whose training paused (see ``Board.catch_up``).

This uses ipykernel 7's internals (its shell-channel thread and the socket that
feeds the main thread); anywhere else (an older ipykernel, another kernel, a
change in ipykernel), :func:`answer` finds nothing to hook and does nothing, and a
reloaded page shows the board when the cell ends, as before.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from .._notebook import ipython

__all__ = ["answer", "answer_in_background"]

# Handled at once: what a new view needs. Anything else waits for the cell's end.
NOW = frozenset({"kernel_info_request", "comm_info_request", "comm_open", "comm_msg", "comm_close"})
# The most messages one call handles: the rest wait for the next redraw tick.
PER_CALL = 100
# How often the background thread looks for messages while a cell runs (s).
PERIOD = 0.1


class _Answerer:
    """The kernel's shell messages, read from inside a busy cell."""

    def __init__(self, shell: Any, kernel: Any, feed: Any) -> None:
        self.shell = shell
        self.kernel = kernel
        self.pid = os.getpid()  # a forked child's copy never reads the parent's socket
        self.feed = feed  # ipykernel's pair of sockets: shell-channel thread -> main
        self.later: list[Any] = []  # messages for the kernel once the cell ends
        self.lock = threading.Lock()  # one reader of the socket at a time
        self.in_cell = False  # a synchronous cell runs: its loop reads nothing
        self.thread: threading.Thread | None = None
        # (what it does, the chore): run by the thread while a cell runs
        self.chores: list[tuple[str, Callable[[], Any]]] = []
        shell.events.register("pre_run_cell", self.cell_starts)
        shell.events.register("post_run_cell", self.hand_back)

    def answer(self, wait: bool = False) -> int:
        """Handle what waits (unless another thread is at it and not ``wait``)."""
        if not self.lock.acquire(blocking=wait):
            return 0
        try:
            return self._answer()
        finally:
            self.lock.release()

    def _answer(self) -> int:
        import zmq

        socket = self.feed.to_socket
        if not socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            return 0  # nothing waiting: the usual case, one call
        handled = 0
        while handled < PER_CALL:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            handled += 1
            kind = self.kind(frames)
            if kind in NOW:
                self.handle(frames)
            else:
                self.later.append(frames)
        return handled

    def cell_starts(self, info: Any) -> None:
        """Before a cell: whether it runs synchronously (no top-level ``await``)."""
        try:
            code = info.raw_cell or ""
            run_async = self.shell.should_run_async(
                code, transformed_cell=self.shell.transform_cell(code)
            )
        except Exception:  # noqa: BLE001 - unsure: leave the socket to the kernel
            run_async = True
        with self.lock:
            self.in_cell = not run_async

    def background(self, chore: tuple[str, Callable[[], Any]] | None) -> None:
        """Answer from a thread of its own while synchronous cells run (once), and do
        ``chore`` there too."""
        if chore is not None and chore not in self.chores:
            self.chores.append(chore)
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="hypertuner-answer", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(PERIOD)
            with self.lock:
                if not self.in_cell:
                    continue
                try:
                    self._answer()
                except Exception as exc:  # noqa: BLE001 - stop; the kernel answers after the cell
                    self.in_cell = False
                    _warn(exc)
                    return
            for chore in list(self.chores):  # outside the lock: log() may answer meanwhile
                what, do = chore
                try:
                    do()
                except Exception as exc:  # noqa: BLE001 - that one stops, the rest go on
                    self.chores.remove(chore)
                    from ..errors import HypertunerWarning

                    warnings.warn(
                        f"hypertuner stopped {what}: {type(exc).__name__}: {exc}",
                        HypertunerWarning,
                        stacklevel=1,
                    )

    def kind(self, frames: list[Any]) -> str | None:
        """The message's type, from its header alone (None for ipykernel's markers)."""
        if len(frames) == 1:
            return None
        session = self.kernel.session
        try:
            _, message = session.feed_identities(frames, copy=False)
            return session.deserialize(message, content=False, copy=False)["header"]["msg_type"]
        except Exception:  # noqa: BLE001 - unreadable here: the kernel will say, later
            return None

    def handle(self, frames: list[Any]) -> None:
        kernel = self.kernel
        parent = kernel.get_parent("shell")
        ident = kernel._get_shell_context_var(kernel._shell_parent_ident)
        handler = kernel.dispatch_shell(frames, subshell_id=None, concurrent=True)
        try:
            try:
                handler.send(None)  # these handlers finish without waiting for anything
            except StopIteration:
                # A front end takes a message as handled on an idle status in reply to
                # it (a request's reply alone does not do; ipywidgets sends a model's
                # next change only then), and a concurrent dispatch sends no status.
                kernel._publish_status("idle", "shell")
            else:
                handler.close()  # it would wait: it cannot be finished from here
        finally:
            kernel.set_parent(ident, parent, channel="shell")  # the cell's output stays its own

    def hand_back(self, *_: Any) -> None:
        """After the cell: give the kernel the messages kept for later, in order."""
        with self.lock:  # the thread is done reading: the kernel's loop reads next
            self.in_cell = False
            later, self.later = self.later, []
        if not later:
            return
        receive = self.feed.to_stream._recv_callback  # how the kernel takes a message
        for frames in later:
            asyncio.ensure_future(receive(frames))
        # Reading the socket here may have eaten the wake-up its stream waits for.
        import zmq

        self.kernel.io_loop.add_callback(self.feed.to_stream.flush, zmq.POLLIN)


_answerer: _Answerer | None = None
_unavailable = False


def _find() -> _Answerer | None:
    shell = ipython()
    kernel = getattr(shell, "kernel", None)
    thread = getattr(kernel, "shell_channel_thread", None)
    feed = getattr(getattr(thread, "manager", None), "_shell_channel_to_main", None)
    needed = ("dispatch_shell", "_publish_status", "_get_shell_context_var", "set_parent")
    if feed is None or not all(hasattr(kernel, name) for name in needed):
        return None
    if not hasattr(getattr(feed, "to_stream", None), "_recv_callback"):
        return None
    return _Answerer(shell, kernel, feed)


def _get() -> _Answerer | None:
    """The kernel's answerer; None where there is none, and in a forked child."""
    global _answerer, _unavailable
    if _unavailable:
        return None
    if _answerer is not None and _answerer.pid != os.getpid():
        return None  # the parent's, copied at the fork: its socket is not ours
    if _answerer is None:
        _answerer = _find()
        if _answerer is None:
            _unavailable = True
    return _answerer


def answer() -> int:
    """Handle the widget messages waiting for the kernel; returns how many were read.

    Does nothing off the main thread, outside an ipykernel 7 kernel, in a child
    forked from the kernel, or after it once failed (it then warns once: a reloaded
    page shows the board when the cell ends).
    """
    global _unavailable
    if threading.current_thread() is not threading.main_thread():
        return 0
    answerer = _get()
    if answerer is None:
        return 0
    try:
        return answerer.answer()
    except Exception as exc:  # noqa: BLE001 - training goes on; the board waits for the cell
        _unavailable = True
        _warn(exc)
        return 0


def answer_in_background(chore: tuple[str, Callable[[], Any]] | None = None) -> bool:
    """Answer the browser from a thread whenever a synchronous cell runs, from the next
    cell on (see the module's notes), and run ``chore`` ((what it does, a function),
    once registered however often given) after each look, every PERIOD seconds;
    returns whether that could be set up."""
    answerer = _get()
    if answerer is None:
        return False
    answerer.background(chore)
    return True


def _warn(exc: BaseException) -> None:
    from ..errors import HypertunerWarning

    warnings.warn(
        "hypertuner cannot answer the browser while this cell runs "
        f"({type(exc).__name__}: {exc}); a page reloaded now shows the board when the "
        "cell ends",
        HypertunerWarning,
        stacklevel=3,
    )
