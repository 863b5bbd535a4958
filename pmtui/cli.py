"""The `pmtui` command: parses arguments, picks what to do, returns the exit code.

Exit codes (DESIGN.md §8): 2 bad plan, config or arguments; 0 otherwise for `check` and
`run --dry-run`. Keeps textual out of its imports so `pmtui check` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pmtui import __version__
from pmtui.config.loader import CONFIG_NAME
from pmtui.config.units import format_duration
from pmtui.config.writer import render_default_config
from pmtui.project import Project, load_project, update_plan
from pmtui.report.check import render_check_json, render_problems, render_summary
from pmtui.report.gantt import dry_run_json, render_dry_run
from pmtui.scheduling.decisions import RunStatus
from pmtui.scheduling.forecast import forecast
from pmtui.store.files import SourceError, bundled, find_repo_root, write_new_file

if TYPE_CHECKING:
    from pmtui.engine.events import RunFinished, TaskFinished

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70

DEFAULT_WIDTH = 100
"""The chart width when the terminal's is unknown (output piped, no `COLUMNS`)."""

EXIT_ABORTED = 130


def positive_int(text: str) -> int:
    """An argparse `type=` for counts such as `--max-parallel`: a whole number ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            "must be a whole number of at least 1, e.g. --max-parallel 4"
        )
    return value


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

    run = commands.add_parser(
        "run",
        help="run a plan headless (or --dry-run: the predicted schedule)",
        description=(
            "Run a plan through the pool of agents. With --dry-run nothing runs: the plan is "
            "simulated with its estimates and the predicted schedule is printed as a Gantt "
            "chart with its makespan, lower bound and speedup."
        ),
    )
    run.add_argument("plan", type=Path, metavar="PLAN", help="the Markdown plan file")
    run.add_argument(
        "--dry-run", action="store_true", help="simulate with the estimates; run nothing"
    )
    run.add_argument(
        "--max-parallel",
        type=positive_int,
        metavar="N",
        help="use N slots instead of pool.max_concurrent",
    )
    run.add_argument(
        "--no-ui",
        action="store_true",
        help="readable lines instead of the full-screen monitor (automatic when stdout is "
        "not a terminal)",
    )
    run.add_argument(
        "--json", action="store_true", help="JSON: lines of events (live run), one object (dry run)"
    )
    run.add_argument("--config", type=Path, metavar="FILE", help="use this pmtui.toml only")
    run.add_argument(
        "--junit",
        type=Path,
        metavar="FILE",
        help="after the run, write JUnit XML: one test case per task, failures with their logs",
    )
    run.add_argument(
        "--update-plan",
        action="store_true",
        help="after the run, tick [x] in the plan for each task it did (every other byte kept)",
    )
    halting = run.add_mutually_exclusive_group()
    halting.add_argument(
        "--keep-going",
        action="store_true",
        help="after a task fails for good, let independent tasks go on (the default)",
    )
    halting.add_argument(
        "--fail-fast",
        action="store_true",
        help="after a task fails for good, start no new task; running ones finish",
    )

    init = commands.add_parser("init", help=f"write ./{CONFIG_NAME} with every key and its default")
    init.add_argument("--force", action="store_true", help=f"overwrite an existing {CONFIG_NAME}")

    commands.add_parser(
        "demo",
        help="check the bundled demo plan and show its dry run (the live run comes later)",
    )
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


def _run(arguments: argparse.Namespace) -> int:
    plan: Path = arguments.plan
    project = load_project(plan, arguments.config)
    sys.stderr.write(render_problems(project))
    if not project.ok:
        return EXIT_BAD_INPUT
    if not arguments.dry_run:
        return _live_run(project, plan, arguments)
    return _dry_run(project, plan.name, arguments.max_parallel, arguments.fail_fast, arguments.json)


def _dry_run(
    project: Project, plan_name: str, max_parallel: int | None, fail_fast: bool, as_json: bool
) -> int:
    assert project.graph is not None
    setup = project.scheduler_setup(max_parallel, fail_fast)
    result = forecast(project.graph, setup)
    if as_json:
        sys.stdout.write(json.dumps(dry_run_json(result)) + "\n")
    else:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        sys.stdout.write(render_dry_run(result, width, plan_name))
    return EXIT_OK


def _live_run(
    project: Project, plan: Path, arguments: argparse.Namespace
) -> int:
    """Run the plan headless: readable lines (or JSON lines), then a summary; the exit code."""
    import anyio  # lazily: `pmtui check` starts without the engine

    from pmtui.engine.events import Event, TaskFinished
    from pmtui.engine.runner import run_plan
    from pmtui.report.jsonl import json_line
    from pmtui.report.lines import event_line
    from pmtui.store.db import exclude_from_git

    assert project.config is not None
    configured = project.config.pool.workdir
    # DESIGN §3: "" = the repository root when the plan is in a git repo, else its folder.
    plan_dir = plan.resolve().parent
    default_workdir = find_repo_root(plan_dir) or plan_dir
    workdir = (Path(configured).expanduser() if configured else default_workdir).resolve()
    exclude_from_git(workdir)  # .pmtui/ (logs) never shows as new in `git status`
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    log_dir = workdir / ".pmtui" / "logs" / run_id
    as_json: bool = arguments.json
    readable = sys.stderr if as_json else sys.stdout
    finals: list[TaskFinished] = []

    def emit(event: Event) -> None:
        if as_json:
            sys.stdout.write(json_line(event))
        line = event_line(event)
        if line is not None:
            readable.write(line + "\n")
        if isinstance(event, TaskFinished):
            finals.append(event)
        sys.stdout.flush()

    async def main() -> RunFinished:
        abort = anyio.Event()
        async with anyio.create_task_group() as tasks:

            async def on_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        abort.set()

            tasks.start_soon(on_signals)
            finished = await run_plan(
                project,
                max_parallel=arguments.max_parallel,
                fail_fast=arguments.fail_fast,
                emit=emit,
                workdir=workdir,
                run_id=run_id,
                log_dir=log_dir,
                abort=abort,
            )
            tasks.cancel_scope.cancel()
        return finished

    finished = anyio.run(main)
    readable.write(_summary(finished, finals, log_dir))
    if arguments.update_plan:
        readable.write(_tick_done(plan, finals))
    if arguments.junit is not None:
        readable.write(_junit(project, arguments.junit, finals, finished, log_dir, started))
    readable.flush()
    return RunStatus(finished.status).exit_code


JUNIT_TAIL_LINES = 50
"""Log lines of a failed task that go into its JUnit failure."""


def _junit(
    project: Project,
    target: Path,
    finals: Sequence[TaskFinished],
    finished: RunFinished,
    log_dir: Path,
    started: str,
) -> str:
    """`--junit FILE`: the run as JUnit XML, one test case per task, failures with their logs."""
    from pmtui.report.junit import render_junit, write_junit
    from pmtui.scheduling import decisions
    from pmtui.scheduling.states import TaskState

    assert project.plan is not None
    notices = [
        decisions.TaskFinished(
            event.time,
            event.task,
            TaskState(event.status),
            event.exit_code,
            event.reason,
            event.attempt,
            event.duration_s,
        )
        for event in finals
    ]
    run = decisions.RunFinished(
        finished.time,
        RunStatus(finished.status),
        done=finished.done,
        failed=finished.failed,
        skipped=finished.skipped,
        cancelled=sum(notice.status is TaskState.CANCELLED for notice in notices),
        conflicts=finished.conflicts,
        duration_s=finished.duration_s,
    )
    tails: dict[str, list[str]] = {}
    for notice in notices:
        log = log_dir / f"{notice.task}.log"
        if notice.status is not TaskState.DONE and log.is_file():
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            tails[notice.task] = lines[-JUNIT_TAIL_LINES:]
    xml = render_junit(
        Path(project.plan.path).name,
        project.plan.title,
        notices,
        run,
        titles={task.id: task.title for task in project.plan.tasks},
        agents={task.id: project.agent_of(task) for task in project.plan.tasks},
        tails=tails,
        timestamp=started,
    )
    try:
        write_junit(target, xml)
    except OSError as error:
        sys.stderr.write(
            f"{target}: error: cannot write the JUnit report: {error.strerror or error}\n"
            "    hint: pass --junit a path in a folder you can write to\n"
        )
        return ""
    return f"junit: {len(notices)} test cases in {target}\n"


def _tick_done(plan: Path, finals: Sequence[TaskFinished]) -> str:
    """`--update-plan`: tick `[x]` on the tasks this run did; the run's outcome stands."""
    done = [event.task for event in finals if event.status == "done" and event.attempt > 0]
    try:
        ticked = update_plan(plan, done)
    except SourceError as error:
        sys.stderr.write(
            f"{error.path}: error: {error.message}\n    hint: {error.hint}\n"
            "    (the run itself is recorded in its logs; tick the tasks by hand)\n"
        )
        return ""
    return f"plan: ticked [x] on {ticked} task{'s' * (ticked != 1)} in {plan}\n"


def _summary(finished: RunFinished, finals: Sequence[TaskFinished], log_dir: Path) -> str:
    lines = [
        "",
        f"run {finished.status}: {finished.done} done, {finished.failed} failed, "
        f"{finished.skipped} skipped, {finished.conflicts} conflicts "
        f"in {format_duration(finished.duration_s)}",
    ]
    for event in finals:
        if event.status != "done":
            lines.append(f"  {event.task:<8} {event.status:<9} {event.reason}")
    lines.append(f"logs: {log_dir}")
    return "\n".join(lines) + "\n"


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
        f"pmtui demo: checking the bundled plan {plan.name}, then predicting its schedule\n"
        "(running it live comes with the engine; today pmtui validates plans and simulates "
        "them with their estimates)\n\n"
    )
    project = load_project(plan)
    sys.stderr.write(render_problems(project))
    if not project.ok:
        return EXIT_BAD_INPUT
    sys.stdout.write(render_summary(project) + "\n")
    return _dry_run(project, plan.name, None, fail_fast=False, as_json=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `pmtui` command line and return its exit code."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "check":
            return _check(arguments.plan, arguments.config, arguments.json)
        if arguments.command == "run":
            return _run(arguments)
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
