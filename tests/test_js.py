"""The browser-side module's pure helpers, tested with Node's own test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JS = Path(__file__).resolve().parents[1] / "js"


def test_engine_helpers_pass_under_node():
    """`node --test js/` passes: smoothing, decoding, filtering, sorting, formats."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the js/ tests (apt-get install nodejs)"
    result = subprocess.run([node, "--test", str(JS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    passed = int(result.stdout.split("# pass ")[1].split()[0])
    assert passed >= 15  # every test of engine.test.mjs, compare.test.mjs and sweep.test.mjs ran
