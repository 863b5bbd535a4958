"""The core never imports textual (docs/design.md §1), proven in fresh interpreters.

import-linter checks the static imports (`make lint`); these tests catch what it cannot see,
such as an import hidden in a function that runs at import time, and keep `pmtui check`
fast by keeping textual out of its process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import demo_by_default

PACKAGE = Path(__file__).resolve().parent.parent / "pmtui"
CORE_LAYERS = ("plan", "config", "scheduling", "engine", "vcs", "store", "report", "agents")


def core_modules() -> list[str]:
    modules = []
    for layer in CORE_LAYERS:
        folder = PACKAGE / layer
        if not folder.is_dir():
            continue
        for source in sorted(folder.glob("*.py")):
            name = "" if source.stem == "__init__" else f".{source.stem}"
            modules.append(f"pmtui.{layer}{name}")
    modules.extend(["pmtui.project", "pmtui.cli"])
    return modules


def imported_modules(statement: str) -> set[str]:
    script = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("module", core_modules())
def test_core_module_does_not_import_textual(module: str) -> None:
    loaded = imported_modules(f"import {module}")
    assert "textual" not in loaded, f"{module} pulls in textual"


def test_pmtui_check_runs_without_importing_textual(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("## Phase 1\n- [ ] 1.1 Do it\n", encoding="utf-8")
    demo_by_default(tmp_path)
    statement = (
        f"from pmtui.cli import main\ncode = main(['check', {str(plan)!r}])\nassert code == 0, code"
    )
    loaded = imported_modules(statement)
    assert "pmtui.project" in loaded
    assert "textual" not in loaded


def test_a_headless_live_run_never_imports_textual(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("## Phase 1\n- [ ] 1.1 Do it\n  ```sh\n  echo hi\n  ```\n", encoding="utf-8")
    statement = (
        "import contextlib, io\nfrom pmtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['run', {str(plan)!r}, '--no-ui'])\nassert code == 0, code"
    )
    loaded = imported_modules(statement)
    assert "pmtui.engine.runner" in loaded
    assert "textual" not in loaded
    # Outside a git repository nothing loads the git layer either: a start-up cost saved.
    assert not any(name.split(".")[0] == "dulwich" for name in loaded)
    assert "pmtui.engine.isolation" not in loaded
