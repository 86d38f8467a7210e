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
            _redraw_after_each_cell(source, board)
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


# The live boards redrawn after each cell: (source, board), for the one hook below.
_after_cell: list[tuple[Any, Any]] = []


def _redraw_after_each_cell(source: Any, board: Any) -> None:
    """Redraw ``board`` after every cell while ``source`` is open.

    One ``post_run_cell`` hook serves every board, and it unregisters itself once no
    board is left, so re-running a cell that shows a logger adds no hooks.
    """
    shell = ipython()
    if shell is None:
        return
    if not _after_cell:
        shell.events.register("post_run_cell", _after_each_cell)
    _after_cell.append((source, board))


def _catch_up() -> None:
    """Draw the charts of live boards whose training paused (see Board.catch_up)."""
    for source, board in list(_after_cell):
        if not source.closed:
            board.catch_up()


def _after_each_cell(*_: Any) -> None:
    import warnings

    from ..errors import HypertunerWarning

    for entry in list(_after_cell):
        source, board = entry
        try:
            board.settle()  # the whole board, if it changed; close() sent it already
            board.refresh_outputs()
        except Exception as exc:  # noqa: BLE001 - one board must not stop the others
            warnings.warn(
                f"hypertuner stopped redrawing a board after each cell: "
                f"{type(exc).__name__}: {exc}",
                HypertunerWarning,
                stacklevel=1,
            )
            _after_cell.remove(entry)
            continue
        if source.closed:
            _after_cell.remove(entry)
    if not _after_cell:
        shell = ipython()
        if shell is not None:
            try:
                shell.events.unregister("post_run_cell", _after_each_cell)
            except ValueError:
                pass  # already gone
