"""Whether code runs in a notebook kernel, decided without importing IPython."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["cell_id", "in_notebook", "ipython"]


def ipython() -> Any:
    """The running IPython shell, or None; never imports IPython itself.

    None too in a process forked from a kernel (a DataLoader worker, a fork-started
    pool): its copy of the kernel's sockets must not be used, and the kernel's
    session would refuse to send from there anyway.
    """
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        shell = module.get_ipython()
    except Exception:  # noqa: BLE001 - a half-initialised IPython is not a notebook
        return None
    if _kernel_pid(shell) not in (None, os.getpid()):
        return None
    return shell


def _kernel_pid(shell: Any) -> int | None:
    """The process id of the kernel ``shell`` belongs to (its session's), or None."""
    pid = getattr(getattr(getattr(shell, "kernel", None), "session", None), "pid", None)
    return pid if isinstance(pid, int) else None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a front end can show widgets), False elsewhere.

    Terminal IPython and plain Python have no kernel and get no widgets.
    """
    shell = ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def cell_id() -> str | None:
    """The id of the notebook cell running now (JupyterLab and Notebook 7 send one), or None."""
    kernel = getattr(ipython(), "kernel", None)
    try:
        parent = kernel.get_parent("shell") if kernel is not None else None
    except Exception:  # noqa: BLE001 - an older kernel without channels
        parent = getattr(kernel, "_parent_header", None)
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    found = metadata.get("cellId") if isinstance(metadata, dict) else None
    return found if isinstance(found, str) and found else None
