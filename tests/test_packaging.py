"""A non-editable install ships the themes and demo plans inside the package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("pmtui-*.whl")
    return found


def test_wheel_contains_demo_plans_themes_and_the_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for plan in ("feature.md", "investigation.md", "pipeline.md", "emergency.md", "stress-300.md"):
        assert f"pmtui/_data/demo_plans/{plan}" in names
    for theme in ("pmtui-dark.toml", "pmtui-light.toml", "high-contrast.toml", "ascii.toml"):
        assert f"pmtui/_data/themes/{theme}" in names
    assert "pmtui/_data/demo_plans/pmtui.toml" in names  # the plans run in place, on demo
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "pmtui = pmtui.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_runs_the_demo_from_its_own_data(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import pmtui, pmtui.store.files as f, sys\n"
        "print(pmtui.__file__)\n"
        "print(f.bundled('demo_plans'))\n"
        "from pmtui.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(target), "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(target))
    assert lines[1] == str(target / "pmtui" / "_data" / "demo_plans")
    assert "feature.md" in result.stdout
