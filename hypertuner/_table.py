"""Plain-text tables and the cell formats shared by ``RunList`` and the command line.

Nothing here reads runs: callers hand over already-computed values. Names, params
and text values come from run folders other people wrote, so every table cell and
every line the command prints goes through :func:`format_text`, which shows control
characters (a terminal's escape sequences among them) as escapes instead of
sending them to the terminal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["format_duration", "format_number", "format_table", "format_text", "format_time"]


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> str:
    """Columns padded to their widest cell, two spaces apart, no trailing spaces.

    Parameters
    ----------
    header : sequence of str
        The column titles.
    rows : sequence of sequences of str
        The cells, one sequence per row, as long as ``header``.
    right : sequence of int, optional
        Indices of the columns to align right (numbers).
    """
    table = [[format_text(cell, None) for cell in row] for row in (header, *rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """A short human duration: ``0.4s``, ``42s``, ``5m 03s``, ``2h 05m``, ``3d 04h``."""
    if not math.isfinite(seconds):
        return "-"
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_time(epoch: float | None, zone: bool = False) -> str:
    """Local time as ``YYYY-MM-DD HH:MM:SS`` (and the zone's name if ``zone``), or ``-``.

    A time the platform cannot convert (out of its range) reads ``?``.
    """
    if epoch is None:
        return "-"
    try:
        local = time.localtime(epoch)
    except (OverflowError, OSError, ValueError):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S" + (" %Z" if zone else ""), local)


def format_number(value: float) -> str:
    """Six significant digits: ``0.25``, ``1.23457e+06``, ``nan``, ``-inf``."""
    return f"{value:.6g}"


def format_text(value: Any, width: int | None = 40) -> str:
    """A value on one line that is safe to print, at most ``width`` characters.

    Every character that is not printable (newlines, tabs, ESC and the other control
    characters, bidirectional overrides, lone surrogates) is shown as its Python
    escape, ``\\n`` or ``\\x1b``. Text longer than ``width`` is cut with an
    ellipsis; ``width=None`` keeps it whole.
    """
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escape(char) for char in text)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _escape(char: str) -> str:
    return repr(char)[1:-1]  # '\n', '\x1b', '\u202e', '\ud800'...
