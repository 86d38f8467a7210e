"""The public surface: __all__ complete and sorted, a light import."""

from __future__ import annotations

import subprocess
import sys

import hypertuner


def test_all_is_sorted_and_complete():
    """__all__ lists every public name of the package, sorted."""
    public = {
        name
        for name, value in vars(hypertuner).items()
        if not name.startswith("_") and not isinstance(value, type(sys)) and name != "annotations"
    }
    assert public | {"__version__"} == set(hypertuner.__all__)
    assert hypertuner.__all__ == sorted(hypertuner.__all__)


def test_import_loads_no_widget_code():
    """Importing hypertuner and logging outside a notebook imports neither ipywidgets nor bqplot."""
    code = (
        "import sys, tempfile, hypertuner\n"
        "with hypertuner.Logger(dir=tempfile.mkdtemp()) as lg: lg.log({'a': 1.0}, 0)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ipywidgets', 'bqplot', 'IPython', 'pandas', 'traitlets')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
