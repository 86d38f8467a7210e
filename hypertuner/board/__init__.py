"""The notebook board: everything that imports ipywidgets, bqplot or anywidget.

Nothing outside this package imports it at module level; the logger and runs load
it only when a notebook shows them. ``static`` (the picture for places where widgets
cannot render) imports neither, and neither does this file.
"""

from __future__ import annotations

from typing import Any

from .._notebook import ipython

__all__ = ["board_for", "compare", "show"]


def compare(dir: Any = None, *, follow: bool = True, interval: float = 1.0) -> Any:
    """Compare every run in a folder: a runs table, overlaid charts, parameter views.

    Parameters
    ----------
    dir : str or path, optional
        The runs folder; defaults to ``$HYPERTUNER_DIR`` or ``./runs``.
    follow : bool
        While shown, read new runs and new points every ``interval`` seconds, from
        a background thread, so runs written by other processes grow on screen.

    Returns
    -------
    Compare
        A widget: the last expression of a cell shows it.

    Examples
    --------
    >>> hypertuner.compare("runs/")
    """
    from .compare import Compare

    return Compare(dir, follow=follow, interval=interval)


def board_for(source: Any) -> Any:
    """The board of a logger or run, made on first use and kept on the source.

    A live logger redraws it from ``log()`` on a time budget, once more when it
    closes, and at the end of every cell that logged to it.
    """
    board = getattr(source, "_board", None)
    if board is None:
        from .board import Board

        board = Board(source)
        source._board = board
        if hasattr(source, "_watch") and not source.closed:
            from ._answer import answer

            def redraw(final: bool) -> None:
                board.tick(final)
                answer()  # a page reloaded while the cell runs gets the board back

            source._watch(redraw)
            after_each_cell(board)
    return board


def show(source: Any) -> Any:
    """Display the board of ``source`` in the current cell; return the display handle.

    When the cell ends, the output is refreshed so that a saved notebook keeps the
    final static picture of the charts (shown where widgets cannot render).
    """
    from IPython.display import display

    from ._answer import answer_in_background

    board = board_for(source)
    handle = display(board, display_id=True)
    # A page reloaded while a later cell runs gets it back, and a paused training's
    # last steps are drawn.
    answer_in_background(("drawing the charts of paused trainings", _catch_up))
    if handle is not None:
        board._handles.append(handle)
    return handle


# What each cell's end brings up to date, for the one hook below: live boards (drawn
# whole, their saved picture refreshed) and comparisons (their saved picture). Each
# has ``after_cell()``, saying whether it wants the next cells' ends too.
_after_cell: list[Any] = []


def after_each_cell(entry: Any) -> None:
    """Call ``entry.after_cell()`` after every cell until it returns False.

    One ``post_run_cell`` hook serves every entry, and it unregisters itself once no
    entry is left, so re-running a cell that shows a logger adds no hooks.
    """
    shell = ipython()
    if shell is None or entry in _after_cell:
        return
    if not _after_cell:
        shell.events.register("post_run_cell", _after_each_cell)
    _after_cell.append(entry)


def _catch_up() -> None:
    """Draw the charts of live boards whose training paused (see Board.catch_up)."""
    for entry in list(_after_cell):
        catch_up = getattr(entry, "catch_up", None)
        if catch_up is not None:
            catch_up()


def _after_each_cell(*_: Any) -> None:
    import warnings

    from ..errors import HypertunerWarning

    for entry in list(_after_cell):
        try:
            wanted = entry.after_cell()
        except Exception as exc:  # noqa: BLE001 - one board must not stop the others
            warnings.warn(
                f"hypertuner stopped updating {entry!r} after each cell: "
                f"{type(exc).__name__}: {exc}",
                HypertunerWarning,
                stacklevel=1,
            )
            wanted = False
        if not wanted:
            _after_cell.remove(entry)
    if not _after_cell:
        shell = ipython()
        if shell is not None:
            try:
                shell.events.unregister("post_run_cell", _after_each_cell)
            except ValueError:
                pass  # already gone
