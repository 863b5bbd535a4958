"""The `pmtui` command: parses arguments, picks what to do, returns the exit code.

Exit codes (DESIGN.md §8): 2 bad plan, config or arguments; 0 otherwise for `check`.
Keeps textual out of its imports so `pmtui check` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from pmtui import __version__
from pmtui.config.loader import CONFIG_NAME
from pmtui.config.writer import render_default_config
from pmtui.project import load_project
from pmtui.report.check import render_check_json, render_problems, render_summary
from pmtui.store.files import bundled, write_new_file

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmtui",
        description="Run a Markdown plan of tasks through a pool of parallel agents.",
    )
    parser.add_argument("--version", action="version", version=f"pmtui {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="validate a plan and summarise it (runs nothing)",
        description=(
            "Validate a plan and its configuration, print every problem, else a summary: "
            "phases, stages, tasks, agents, critical path, width and waves. Exit 2 on any "
            "error."
        ),
    )
    check.add_argument("plan", type=Path, metavar="PLAN", help="the Markdown plan file")
    check.add_argument("--config", type=Path, metavar="FILE", help="use this pmtui.toml only")
    check.add_argument("--json", action="store_true", help="print one JSON object")

    init = commands.add_parser("init", help=f"write ./{CONFIG_NAME} with every key and its default")
    init.add_argument("--force", action="store_true", help=f"overwrite an existing {CONFIG_NAME}")

    commands.add_parser("demo", help="check the bundled demo plan (the live run comes later)")
    return parser


def _check(plan: Path, config: Path | None, as_json: bool) -> int:
    project = load_project(plan, config)
    if as_json:
        sys.stdout.write(render_check_json(project))
    else:
        sys.stderr.write(render_problems(project))
        if project.ok:
            sys.stdout.write(render_summary(project))
    return EXIT_OK if project.ok else EXIT_BAD_INPUT


def _init(force: bool) -> int:
    target = Path.cwd() / CONFIG_NAME
    try:
        write_new_file(target, render_default_config(), overwrite=force)
    except FileExistsError:
        sys.stderr.write(
            f"{CONFIG_NAME}: error: already exists; nothing written\n"
            f"    hint: run `pmtui init --force` to replace it with the defaults\n"
        )
        return EXIT_BAD_INPUT
    except IsADirectoryError:
        sys.stderr.write(
            f"{CONFIG_NAME}: error: is a folder; nothing written\n"
            f"    hint: move the folder {CONFIG_NAME}/ away, then run pmtui init again\n"
        )
        return EXIT_BAD_INPUT
    except OSError as error:
        sys.stderr.write(
            f"{CONFIG_NAME}: error: cannot write: {error.strerror or error}\n"
            "    hint: run pmtui init in a folder you can write to\n"
        )
        return EXIT_BAD_INPUT
    sys.stdout.write(
        f"wrote {target} (every key with its default; delete what you do not change)\n"
    )
    return EXIT_OK


def _demo() -> int:
    plan = bundled("demo_plans") / "feature.md"
    sys.stdout.write(
        f"pmtui demo: checking the bundled plan {plan.name}\n"
        "(running it live comes with the engine; today pmtui validates and summarises plans)\n\n"
    )
    return _check(plan, None, as_json=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `pmtui` command line and return its exit code."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "check":
            return _check(arguments.plan, arguments.config, arguments.json)
        if arguments.command == "init":
            return _init(arguments.force)
        return _demo()
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: say so plainly, keep the traceback for reports
        if os.environ.get("PMTUI_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"pmtui: internal error: {type(error).__name__}: {error}\n"
            "    hint: this is a bug in pmtui; rerun with PMTUI_DEBUG=1 for the traceback "
            "and report it\n"
        )
        return EXIT_INTERNAL
