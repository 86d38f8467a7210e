"""Files the package ships besides Python: its browser modules and the quickstart.

A wheel carries them in ``hypertuner/_static/`` (``pyproject.toml`` puts them
there). A source checkout, which an editable install imports, keeps them where
they are edited and tested: ``js/`` and ``notebooks/`` at the top of the repository.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

__all__ = ["SHIPPED", "module", "resource"]

# Every file the package needs at run time -> its folder in a source checkout.
SHIPPED = {
    "compare.js": "js",
    "engine.js": "js",
    "sweep.js": "js",
    "ticks.js": "js",
    "quickstart.ipynb": "notebooks",
}


def resource(name: str) -> Path:
    """The path of a shipped file, in an installed wheel or in a source checkout.

    Raises
    ------
    FileNotFoundError
        If this copy of hypertuner lacks the file (a broken install).
    """
    if name not in SHIPPED:
        raise KeyError(f"{name!r} is not a file hypertuner ships; it ships {', '.join(SHIPPED)}")
    shipped = resources.files("hypertuner") / "_static" / name
    if shipped.is_file():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parent.parent / SHIPPED[name] / name
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        f"{name} is missing from this copy of hypertuner (looked in {shipped} and "
        f"{checkout}); reinstall it: pip install --force-reinstall hypertuner"
    )


# `import { a, b } from "./ticks.js";` on a line of its own: a module this package ships.
_LOCAL_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([\w.]+)";\n', re.MULTILINE)


def module(name: str) -> str:
    """A browser module's source with the shipped modules it imports inlined.

    anywidget loads a widget's module from one string, where a relative import
    resolves to nothing; the files stay separate for ``node --test`` and reading.
    Each shipped module is inlined once, ahead of the code that uses it.
    """
    seen: set[str] = set()

    def inline(file: str) -> str:
        seen.add(file)
        text = resource(file).read_text(encoding="utf-8")
        needed = [found for found in _LOCAL_IMPORT.findall(text) if found not in seen]
        parts = [inline(found) for found in dict.fromkeys(needed) if found not in seen]
        return "".join(parts) + _LOCAL_IMPORT.sub("", text)

    return inline(name)
