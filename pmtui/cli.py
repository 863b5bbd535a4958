"""The `pmtui` command: parses arguments, picks what to do, returns the exit code.

Exit codes (docs/design.md §8): 2 bad plan, config or arguments; 0 otherwise for `check` and
`run --dry-run`. Keeps textual out of its imports so `pmtui check` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pmtui import __version__
from pmtui.config.loader import CONFIG_NAME
from pmtui.config.prices import DOLLAR_EXAMPLES, parse_dollars
from pmtui.config.writer import render_default_config
from pmtui.plan.errors import Severity
from pmtui.project import (
    Project,
    load_config_for,
    load_project,
    program_problems,
    run_workdir,
)
from pmtui.report.check import render_check_json, render_problems, render_summary
from pmtui.store.files import bundled, find_repo_root, write_new_file

if TYPE_CHECKING:
    from pmtui.store.db import RunRecord

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70

DEFAULT_WIDTH = 100
"""The chart width when the terminal's is unknown (output piped, no `COLUMNS`)."""

EXIT_ABORTED = 130

VERSIONS_FILE = "versions.json"
"""In `$XDG_CACHE_HOME/pmtui/`: the agent CLIs' versions already asked."""


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


def _budget(text: str) -> float:
    """An argparse `type=` for `--budget`: US dollars (`5`, `$5`, `2.50`), 0 for none."""
    dollars = parse_dollars(text)
    if dollars is None:
        raise argparse.ArgumentTypeError(
            f"must be an amount in US dollars ({DOLLAR_EXAMPLES}), e.g. --budget 5"
        )
    return dollars


def _speed(text: str) -> float:
    """An argparse `type=` for `--speed`: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError("must be a number above 0, e.g. --speed 10")
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
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the last unfinished run of the plan: done tasks are not rerun",
    )
    run.add_argument(
        "--rerun",
        action="append",
        metavar="ID",
        help="with --resume: run this done task again (repeatable)",
    )
    run.add_argument(
        "--budget",
        type=_budget,
        metavar="USD",
        help="spend at most this many US dollars on agents in this run (over its sessions, "
        "with --resume); then no new agent task starts: budget.max_cost_usd for this run, "
        "0 = no limit",
    )
    run.add_argument(
        "--ascii", action="store_true", help="plain ASCII output (no emoji or box glyphs)"
    )
    run.add_argument(
        "--theme", metavar="NAME", help="the monitor's theme (pmtui-dark, pmtui-light, ...)"
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

    agents = commands.add_parser(
        "agents",
        help="list the agents: each program found, its version, parser and API key",
        description=(
            "List every agent (the real agent CLIs, roles, shell, demo and your own) with the "
            "program it runs, where that is installed and its version, how its output is "
            "read, and whether its API key is set (a CLI logged in by its own means needs "
            "none). Reads pmtui.toml from the current folder's lookup chain."
        ),
    )
    agents.add_argument("--config", type=Path, metavar="FILE", help="use this pmtui.toml only")
    agents.add_argument("--json", action="store_true", help="print one JSON object")

    init = commands.add_parser("init", help=f"write ./{CONFIG_NAME} with every key and its default")
    init.add_argument("--force", action="store_true", help=f"overwrite an existing {CONFIG_NAME}")

    demo = commands.add_parser(
        "demo",
        help="run the bundled feature plan live with the demo agent (about 1.5 minutes)",
    )
    demo.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="N",
        help="work N times faster than the estimates (e.g. 10)",
    )
    demo.add_argument(
        "--dry-run", action="store_true", help="check the plan and show its predicted schedule"
    )
    demo.add_argument(
        "--git",
        action="store_true",
        help="run the git demo instead: shell agents editing a fresh repository in parallel "
        "worktrees, merged one by one, one real conflict kept (exits 3)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the demo's temporary folder (with --git: its repository) and say where",
    )
    demo.add_argument("--json", action="store_true", help="JSON lines of events on stdout")
    demo.add_argument("--ascii", action="store_true", help="plain ASCII output")
    demo.add_argument("--no-ui", action="store_true", help="readable lines, not the monitor")
    demo.add_argument("--theme", metavar="NAME", help="the monitor's theme")
    demo.set_defaults(
        max_parallel=None,
        fail_fast=False,
        junit=None,
        update_plan=False,
        resume=False,
        rerun=None,
        budget=None,
    )

    clean = commands.add_parser(
        "clean",
        help="remove what runs left in this repository: merged worktrees and branches",
        description=(
            "Remove the worktrees and branches of merged tasks that runs left behind (a worktree "
            "with uncommitted changes is never removed), and list the unmerged ones, which are "
            "kept. Works on the git repository of the current folder."
        ),
    )
    clean.add_argument(
        "--dry-run", action="store_true", help="only say what would be removed and kept"
    )

    for name, summary in (
        ("history", "list the runs recorded here (newest first)"),
        ("status", "show the newest run: each task's state, attempts and reason"),
    ):
        command = commands.add_parser(name, help=summary)
        command.add_argument(
            "plan", type=Path, nargs="?", metavar="PLAN", help="only this plan's runs"
        )
        command.add_argument("--config", type=Path, metavar="FILE", help="use this pmtui.toml")
        command.add_argument("--json", action="store_true", help="print JSON")
        if name == "history":
            command.add_argument(
                "--limit", type=positive_int, default=20, metavar="N", help="show N runs"
            )
    return parser


def _check(plan: Path, config: Path | None, as_json: bool) -> int:
    project = load_project(plan, config)
    missing = program_problems(project, Severity.WARNING)
    if missing:
        project = replace(project, problems=(*project.problems, *missing))
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
    project = _with_budget(project, arguments.budget)
    if not arguments.dry_run:
        missing = program_problems(project)
        if missing:
            sys.stderr.write(render_problems(replace(project, problems=tuple(missing))))
            return EXIT_BAD_INPUT
        _warn_old_programs(project)
        return _live_run(project, plan, arguments)
    if arguments.resume or arguments.rerun:
        sys.stderr.write(
            f"{plan}: error: --resume and --rerun need a live run, not --dry-run\n"
            "    hint: drop --dry-run to continue the unfinished run\n"
        )
        return EXIT_BAD_INPUT
    return _dry_run(project, plan.name, arguments.max_parallel, arguments.fail_fast, arguments.json)


def _warn_old_programs(project: Project) -> None:
    """Warn about an agent CLI older than the flags pmtui passes it (they drift between
    versions); its `--version` is asked once per program (and remembered in the user's
    cache folder until the program's file changes)."""
    from pmtui.engine.programs import VersionCache, probe
    from pmtui.store.files import xdg_cache_home

    assert project.plan is not None and project.config is not None
    used = {project.agent_of(task) for task in project.plan.tasks if not task.done}
    programs = {
        agent.base or name: agent
        for name in used
        if (agent := project.config.agents.get(name)) is not None and agent.min_version
    }
    cache = VersionCache(xdg_cache_home() / "pmtui" / VERSIONS_FILE)
    for info in probe(project.config.agents, sorted(programs), cache=cache):
        if info.too_old:
            agent = programs[info.name]
            sys.stderr.write(
                f"pmtui: warning: {info.program} {info.version} is older than "
                f"{agent.min_version}, the oldest version whose flags pmtui knows; it may "
                f"refuse them\n    hint: update it: {agent.install or info.program}\n"
            )


def _with_budget(project: Project, budget_usd: float | None) -> Project:
    """`--budget USD`: the run's `[budget] max_cost_usd`, whatever the config says."""
    if budget_usd is None or project.config is None:
        return project
    budget = replace(project.config.budget, max_cost_usd=budget_usd)
    return replace(project, config=replace(project.config, budget=budget))


def _dry_run(
    project: Project, plan_name: str, max_parallel: int | None, fail_fast: bool, as_json: bool
) -> int:
    assert project.graph is not None
    setup = project.scheduler_setup(max_parallel, fail_fast)
    from pmtui.report.gantt import dry_run_json, render_dry_run  # lazily: a live run skips it
    from pmtui.scheduling.forecast import forecast

    result = forecast(project.graph, setup)
    if as_json:
        sys.stdout.write(json.dumps(dry_run_json(result)) + "\n")
    else:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        sys.stdout.write(render_dry_run(result, width, plan_name))
    return EXIT_OK


def _live_run(
    project: Project,
    plan: Path,
    arguments: argparse.Namespace,
    agent_env: tuple[tuple[str, str], ...] = (),
) -> int:
    """Run the plan live: in the monitor on a terminal, else (or with --no-ui, --json) as
    readable lines. textual is imported only for the monitor."""
    from pmtui.report.headless import HeadlessOptions, run_headless  # lazily: the engine

    width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    options = HeadlessOptions(
        max_parallel=arguments.max_parallel,
        fail_fast=arguments.fail_fast,
        as_json=arguments.json,
        junit=arguments.junit,
        update_plan=arguments.update_plan,
        resume=arguments.resume,
        rerun=tuple(arguments.rerun or ()),
        ascii=arguments.ascii or not _utf8_output(),
        width=width,
        agent_env=agent_env,
        resumable=arguments.command != "demo",
    )
    if arguments.no_ui or arguments.json or not sys.stdout.isatty():
        return run_headless(project, plan, options)
    from pmtui.ui.live import run_tui  # lazily: textual costs a quarter of a second
    from pmtui.ui.themes import wants_ascii

    tui_ascii = arguments.ascii or wants_ascii(os.environ, sys.stdout.encoding)
    return run_tui(project, plan, replace(options, ascii=tui_ascii), arguments.theme)


def _utf8_output() -> bool:
    """Whether stdout takes UTF-8 (else `--ascii` is implied)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding in ("utf8", "utf_8")


def _init(force: bool) -> int:
    target = Path.cwd() / CONFIG_NAME
    found = _installed_agent()
    hint = (
        "no agent CLI found on PATH: install one (npm install -g @anthropic-ai/claude-code, "
        "or @openai/codex, @google/gemini-cli, opencode-ai; pip install aider-chat) and name "
        "it here"
    )
    try:
        write_new_file(target, render_default_config(found, hint), overwrite=force)
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
    if found:
        sys.stdout.write(
            f"default agent: {found} (found on PATH); tasks and roles that name no agent run "
            "it\n"
        )
    else:
        sys.stdout.write(
            "default agent: none — no agent CLI (claude, codex, gemini, aider, opencode) is on "
            "PATH; install one and set default_agent under [pool]\n"
        )
    return EXIT_OK


def _installed_agent() -> str:
    """The first real agent CLI found on PATH (claude, codex, gemini, aider, opencode)."""
    from pmtui.config.defaults import PRESET_ORDER, PRESETS

    for name in PRESET_ORDER:
        if shutil.which(PRESETS[name]["command"][0]):
            return name
    return ""


def _agents(config_file: Path | None, as_json: bool) -> int:
    """`pmtui agents`: every agent, its program, version, parser and key."""
    from pmtui.engine.programs import probe
    from pmtui.report.agents import agents_json, render_agents

    config, problems = load_config_for(Path.cwd() / "plan.md", config_file)
    if config is None:
        for problem in problems:
            sys.stderr.write(problem.render() + "\n")
        return EXIT_BAD_INPUT
    found = probe(config.agents)
    if as_json:
        sys.stdout.write(json.dumps(agents_json(found, config.pool.default_agent)) + "\n")
    else:
        sys.stdout.write(render_agents(found, config.pool.default_agent))
    return EXIT_OK


def _demo(arguments: argparse.Namespace) -> int:
    """Run the bundled feature plan with the demo agent, in a temporary folder; with `--git`,
    the git plan with shell agents in a fresh repository. `--dry-run` checks the plan where
    the run would have it (so the git plan is predicted inside its repository)."""
    plan = bundled("demo_plans") / ("git-parallel.md" if arguments.git else "feature.md")
    folder = Path(tempfile.mkdtemp(prefix="pmtui-demo-"))
    # With --json, stdout carries only the event lines.
    banner = sys.stderr if arguments.json else sys.stdout
    keep = arguments.keep and not arguments.dry_run
    try:
        copy = _placed(plan, folder, git=arguments.git)
        if arguments.dry_run:
            checked = _loaded(copy)
            if checked is None:
                return EXIT_BAD_INPUT
            if not arguments.json:
                sys.stdout.write(render_summary(checked) + "\n")
            return _dry_run(checked, plan.name, None, fail_fast=False, as_json=arguments.json)
        if arguments.git:
            banner.write(
                f"pmtui demo --git: running {plan.name} in a new git repository, "
                f"{copy.parent}\n(shell agents edit files in their own worktrees; the merge "
                f"queue brings each task into main; {_fate(keep)}; Ctrl-C aborts)\n\n"
            )
        else:
            banner.write(
                f"pmtui demo: running {plan.name} live with the demo agent, "
                f"{arguments.speed:g}x as fast as its estimates, in {folder}\n"
                f"({_fate(keep)}; Ctrl-C aborts)\n\n"
            )
        banner.flush()
        project = _loaded(copy)
        if project is None:
            return EXIT_BAD_INPUT
        if not arguments.git:
            speed = (("PMTUI_DEMO_SPEED", str(arguments.speed)),)
            return _live_run(project, copy, arguments, speed)
        from pmtui.vcs.demo_repo import history

        code = _live_run(project, copy, arguments)
        lines = "\n".join(f"  {line}" for line in history(copy.parent))
        banner.write(f"\nthe history of main in {copy.parent}:\n{lines}\n")
        return code
    finally:
        if keep:
            banner.write(f"pmtui demo: kept {folder}\n")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _placed(plan: Path, folder: Path, *, git: bool) -> Path:
    """A copy of a bundled plan in `folder`; with `git`, untracked in a new repository there
    (as a user's plan often is)."""
    if git:
        from pmtui.vcs.demo_repo import make_demo_repository

        folder = folder / "demo"
        make_demo_repository(folder)
    copy = folder / plan.name
    copy.write_bytes(plan.read_bytes())
    # The demo's roles run the simulated agent (the git demo's tasks are shell scripts),
    # whatever default_agent the user's own pmtui.toml names.
    agent = "shell" if git else "demo"
    (folder / CONFIG_NAME).write_text(f'[pool]\ndefault_agent = "{agent}"\n', encoding="utf-8")
    return copy


def _loaded(plan: Path) -> Project | None:
    """The demo's plan, its problems printed; None when it cannot run (a broken install)."""
    project = load_project(plan)
    sys.stderr.write(render_problems(project))
    return project if project.ok else None


def _fate(keep: bool) -> str:
    return "the folder is kept" if keep else "the folder and its logs are removed at the end"


def _store_root(plan: Path | None, config: Path | None) -> tuple[Path, Project | None] | int:
    """The folder whose `.pmtui/` holds the runs: the plan's working root, else the current
    repository's root, else the current folder. An int is an exit code (bad plan)."""
    if plan is None:
        return find_repo_root(Path.cwd()) or Path.cwd(), None
    if not plan.is_file():
        sys.stderr.write(
            f"{plan}: error: no such plan file\n    hint: name the Markdown plan you ran\n"
        )
        return EXIT_BAD_INPUT
    project = load_project(plan, config)
    if project.config is None:
        sys.stderr.write(render_problems(project))
        return EXIT_BAD_INPUT
    return run_workdir(project, plan), project


def _runs(arguments: argparse.Namespace) -> int:
    """`pmtui history [PLAN]` and `pmtui status [PLAN]`: read the store; change nothing."""
    from pmtui.report.history import history_json, render_history, render_status, status_json
    from pmtui.store.db import DB_NAME, STORE_DIR, Store, StoreError

    found = _store_root(arguments.plan, arguments.config)
    if isinstance(found, int):
        return found
    root, _ = found
    plan_path = str(arguments.plan.resolve()) if arguments.plan is not None else None
    plan_name = str(arguments.plan) if arguments.plan is not None else None
    now = time.time()
    if not (root / STORE_DIR / DB_NAME).is_file():
        if arguments.json:
            sys.stdout.write("[]\n" if arguments.command == "history" else "null\n")
        else:
            what = f" of {plan_name}" if plan_name else ""
            sys.stdout.write(
                f"no runs yet{what} in {root}; start one with: pmtui run {plan_name or 'PLAN'}\n"
            )
        return EXIT_OK
    try:
        with Store.open(root) as store:
            alive = _alive_check(root)
            if arguments.command == "history":
                runs = store.runs(plan_path, limit=arguments.limit)
                tasks = {run.id: store.task_states(run.id) for run in runs}
                attempts_by_run = {run.id: store.attempts(run.id) for run in runs}
                if arguments.json:
                    data = history_json(
                        runs, tasks, now=now, alive=alive, attempts_by_run=attempts_by_run
                    )
                    sys.stdout.write(json.dumps(data) + "\n")
                else:
                    sys.stdout.write(
                        _line_ended(
                            render_history(
                                runs,
                                tasks,
                                now=now,
                                plan=plan_name,
                                alive=alive,
                                attempts_by_run=attempts_by_run,
                            )
                        )
                    )
                return EXIT_OK
            chosen = store.runs(plan_path, limit=1)
            if not chosen:
                sys.stdout.write("null\n" if arguments.json else f"no runs yet of {plan_name}\n")
                return EXIT_OK
            run = chosen[0]
            tasks_of_run = store.task_states(run.id)
            attempts = store.attempts(run.id)
            if arguments.json:
                status = status_json(run, tasks_of_run, attempts, now=now, alive=alive)
                sys.stdout.write(json.dumps(status) + "\n")
            else:
                status_text = render_status(run, tasks_of_run, attempts, now=now, alive=alive)
                sys.stdout.write(_line_ended(status_text))
    except StoreError as error:
        sys.stderr.write(f"{error.path}: error: {error.message}\n    hint: {error.hint}\n")
        return EXIT_BAD_INPUT
    return EXIT_OK


def _clean(dry_run: bool) -> int:
    """`pmtui clean [--dry-run]`: under the repository's run lock, so no run is live."""
    from pmtui.report.cleanup import render_cleanup
    from pmtui.store.db import StoreError, store_dir
    from pmtui.store.lock import RunLock
    from pmtui.vcs.clean import find_cleanup

    root = find_repo_root(Path.cwd())
    if root is None or not (root / ".git").is_dir():
        sys.stdout.write(f"nothing to clean: {Path.cwd()} is not in a git repository\n")
        return EXIT_OK
    try:
        store_dir(root)
        lock = RunLock.acquire(root, key="repository")
    except StoreError as error:  # LockHeld too: a run is live here
        sys.stderr.write(
            f"{error.path}: error: {error.message}\n    hint: clean once that run has ended\n"
        )
        return EXIT_BAD_INPUT
    with lock:
        done = find_cleanup(root, dry_run=dry_run)
    sys.stdout.write(render_cleanup(done, root, dry_run=dry_run))
    return EXIT_OK


def _line_ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _alive_check(root: Path) -> Callable[[RunRecord], bool]:
    """Whether an unfinished run's pmtui still lives: its pid runs here and holds a lock."""
    import socket

    import psutil

    from pmtui.store.db import STORE_DIR

    holders: set[int] = set()
    for lock in (root / STORE_DIR).glob("lock-*"):
        try:
            text = lock.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            continue
        if text.isdigit():
            holders.add(int(text))
    host = socket.gethostname()

    def alive(run: RunRecord) -> bool:
        return run.host == host and run.pid in holders and psutil.pid_exists(run.pid)

    return alive


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
        if arguments.command == "agents":
            return _agents(arguments.config, arguments.json)
        if arguments.command in ("history", "status"):
            return _runs(arguments)
        if arguments.command == "clean":
            return _clean(arguments.dry_run)
        return _demo(arguments)
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
