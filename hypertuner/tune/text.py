"""A sweep's trials as plain text: for ``repr``, the command line and static output."""

from __future__ import annotations

from typing import Any

from .._table import format_number, format_table, format_text

__all__ = ["cell_text", "flat_params", "trials_text"]


def flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as one dict of dotted names (``model.hidden``)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def cell_text(value: Any) -> str:
    """A param value as a table cell: numbers to six digits, text quoted, all made safe."""
    if isinstance(value, float):
        return format_number(value)
    return format_text(repr(value) if isinstance(value, str) else str(value), None)


def trials_text(sweep: Any) -> str:
    """A header line, then one row per trial: number, state, objective, swept params."""
    trials = sweep.trials
    best = sweep.best
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no trials yet"
    head = (
        f"sweep {format_text(str(sweep.dir), None)}: {len(trials)} of {sweep.total} trials "
        f"({summary}), {sweep.mode} {format_text(sweep.objective, None)}"
    )
    if best is not None:
        head += f"; best {format_number(best.value)} (trial {best.number})"
    if not trials:
        return head
    swept = sweep.swept
    rows = []
    for trial in trials:
        flat = flat_params(trial.params)
        value = "-" if trial.value is None else format_number(trial.value)
        note = f"at step {trial.pruned_step}" if trial.state == "pruned" else ""
        if best is not None and trial.number == best.number:
            note = "best"
        if trial.state == "failed" and trial.error:
            note = trial.error.strip().splitlines()[-1][:60]
        rows.append(
            [str(trial.number), trial.state, value]
            + [cell_text(flat.get(name, "")) for name in swept]
            + [note]
        )
    header = ["trial", "state", sweep.objective, *swept, ""]
    return head + "\n" + format_table(header, rows, right=(0, 2))
