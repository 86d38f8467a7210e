"""Whether code runs in a notebook kernel, decided without importing IPython."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ipython", "in_notebook"]


def ipython() -> Any:
    """The running IPython shell, or None; never imports IPython itself."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:  # noqa: BLE001 - a half-initialised IPython is not a notebook
        return None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a front end can show widgets), False elsewhere.

    Terminal IPython and plain Python have no kernel and get no widgets.
    """
    shell = ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
