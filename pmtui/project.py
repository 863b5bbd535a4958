"""A plan on disk with its configuration: read, parsed, validated, ready to summarise or run.

The one place that finds the config files for a plan and reads them, so `check`, `run` and
`demo` all see a plan the same way.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pmtui.config.loader import ConfigSource, config_search_paths, load_config
from pmtui.config.model import AgentConfig, Config
from pmtui.plan.errors import Problem, Severity
from pmtui.plan.graph import CriticalPath, PlanGraph
from pmtui.plan.model import Plan, Task
from pmtui.plan.parser import parse_plan
from pmtui.plan.validate import validate_plan
from pmtui.scheduling.estimates import History, NoHistory, estimate_task, estimate_tasks
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.store.checkpoint import tick_lines
from pmtui.store.files import SourceError, find_repo_root, read_text, xdg_config_home

DEMO_MODULE = "pmtui.agents.demo"
"""The simulated agent's module: run with pmtui's own Python, never a PATH lookup."""


@dataclass(frozen=True, slots=True)
class Project:
    """A plan, its graph and its config; `problems` holds every error and warning found."""

    plan: Plan | None
    graph: PlanGraph | None
    config: Config | None
    problems: tuple[Problem, ...]
    in_git_repo: bool = False
    """Whether the plan lies inside a git repository (worktrees are possible)."""

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop a run."""
        return [problem for problem in self.problems if problem.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that are printed but let a run go on."""
        return [problem for problem in self.problems if problem.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """Whether the plan and config can be run."""
        return not self.errors

    def agent_of(self, task: Task) -> str:
        """The agent a task runs with."""
        assert self.config is not None
        return self.config.agent_for(task.agent, task.script is not None)

    def estimate_s(self, task: Task) -> float:
        """The expected duration of a task: its `estimate:`, else its agent's (no history yet)."""
        assert self.plan is not None and self.config is not None
        return estimate_task(task, self.plan.path, self.config, NoHistory())

    @property
    def isolation(self) -> bool:
        """Whether tasks of code-modifying agents run in their own worktrees.

        `isolation = "auto"` or "worktree" mean yes inside a git repository ("worktree" warns
        outside one, see `load_project`); "none" never.
        """
        assert self.config is not None
        return self.in_git_repo and self.config.conflicts.isolation != "none"

    def scheduler_setup(
        self,
        max_parallel: int | None = None,
        fail_fast: bool = False,
        seed: int = 0,
        history: History | None = None,
        isolation: bool | None = None,
    ) -> SchedulerSetup:
        """The rules a run of this plan follows (`--max-parallel`, `--fail-fast` applied);
        `history` (the store) gives past durations, which come first in the estimates;
        `isolation` overrides `self.isolation` (a repository worktrees cannot be used in)."""
        assert self.plan is not None and self.graph is not None and self.config is not None
        return SchedulerSetup.from_config(
            self.graph,
            self.config,
            estimates=estimate_tasks(self.plan, self.config, history),
            isolation=self.isolation if isolation is None else isolation,
            max_parallel=max_parallel,
            fail_fast=fail_fast,
            seed=seed,
        )

    def critical_path(self) -> CriticalPath | None:
        """The critical path by estimates, if the graph has no cycle."""
        if self.graph is None or self.config is None or self.graph.cycles():
            return None
        return self.graph.critical_path(self.estimate_s)


def _source_problem(error: SourceError) -> Problem:
    return Problem(error.path, error.line, error.col, error.message, error.hint)


def load_config_for(
    plan_path: Path, config_file: Path | None
) -> tuple[Config | None, list[Problem]]:
    """The config of a plan: `config_file` alone, or every file of the lookup chain."""
    if config_file is not None:
        paths = [config_file]
    else:
        plan_dir = plan_path.resolve().parent
        paths = [
            Path(found)
            for found in config_search_paths(plan_dir, find_repo_root(plan_dir), xdg_config_home())
            if Path(found).is_file()
        ]
    sources: list[ConfigSource] = []
    problems: list[Problem] = []
    for path in paths:
        shown = _shown(path)
        try:
            sources.append(ConfigSource(shown, read_text(path, shown)))
        except SourceError as error:
            problems.append(_source_problem(error))
    if problems:
        return None, problems
    return load_config(sources)


def _shown(path: Path) -> str:
    """A path as short as it can be shown: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_project(plan_path: Path, config_file: Path | None = None) -> Project:
    """Read, parse and validate a plan with its config; never raises on bad input."""
    config, config_problems = load_config_for(plan_path, config_file)
    shown = _shown(plan_path)
    try:
        text = read_text(plan_path, shown)
    except SourceError as error:
        return Project(None, None, config, (*config_problems, _source_problem(error)))
    plan, problems = parse_plan(text, shown)
    agents = config.agents.keys() if config is not None else None
    in_git_repo = find_repo_root(plan_path.resolve().parent) is not None
    isolated = None
    if config is not None and in_git_repo and config.conflicts.isolation != "none":
        isolated = _runs_isolated(config)
    graph, plan_problems = validate_plan(plan, agents=agents, isolated=isolated)
    if config is not None:
        plan_problems = [*plan_problems, *_unassigned(plan, config)]
    merged = sorted([*problems, *plan_problems], key=lambda problem: (problem.line, problem.col))
    if config is not None and config.conflicts.isolation == "worktree" and not in_git_repo:
        config_problems = [*config_problems, _worktree_without_repo(config, shown)]
    # Config problems first: they are in another file, and an agent check waits on them.
    return Project(plan, graph, config, (*config_problems, *merged), in_git_repo)


def _unassigned(plan: Plan, config: Config) -> list[Problem]:
    """Tasks left to run that have no agent to run them: none named, no script, no
    `default_agent` — or a role with no base agent. Never a silent simulator (docs/design.md §3)."""
    problems: list[Problem] = []
    set_default = 'set default_agent = "claude" (or codex, gemini, aider, opencode) under [pool]'
    for task in plan.tasks:
        if task.done:
            continue
        name = config.agent_for(task.agent, task.script is not None)
        if not name:
            problems.append(
                Problem(
                    plan.path,
                    task.line,
                    task.source.id_col,
                    f"task {task.id} has no agent to run it: it names none and has no script",
                    f"add (agent: claude) to the task, or {set_default} in pmtui.toml; "
                    "`pmtui agents` lists the agents",
                )
            )
            continue
        agent = config.agents.get(name)
        if agent is not None and not agent.bound:
            problems.append(
                Problem(
                    plan.path,
                    task.line,
                    task.source.agent_col or task.source.id_col,
                    f"task {task.id} uses the role '{name}', which has no agent to run as",
                    f"{set_default} in pmtui.toml, or base = \"codex\" under [agents.{name}]",
                )
            )
    return problems


def program_problems(project: Project, severity: Severity = Severity.ERROR) -> list[Problem]:
    """Agents the plan's open tasks use whose program is not installed, each named once (at
    its first task) with the command that installs it."""
    if project.plan is None or project.config is None:
        return []
    problems: list[Problem] = []
    seen: set[str] = set()
    workdir = run_workdir(project, Path(project.plan.path))  # where relative programs are
    for task in project.plan.tasks:
        name = project.agent_of(task)
        agent = project.config.agents.get(name)
        runs_as = agent.base or name if agent is not None else name
        if task.done or agent is None or not agent.bound or runs_as in seen:
            continue
        seen.add(runs_as)
        if program_path(agent, workdir) is not None:
            continue
        install = f"install it: {agent.install}" if agent.install else "install it"
        problems.append(
            Problem(
                project.plan.path,
                task.line,
                task.source.agent_col or task.source.id_col,
                f"agent '{runs_as}' runs `{agent.program}`, which is not installed (not on PATH)",
                f"{install}; or give the program's full path in [agents.{runs_as}] "
                "command; `pmtui agents` shows what is installed",
                severity,
            )
        )
    return problems


def program_path(agent: AgentConfig, workdir: Path | None = None) -> str | None:
    """Where the agent's program is: found on PATH, or the path written (a relative one in
    `workdir`, where the agent runs); None: missing. The demo agent runs with pmtui's own
    Python, so it is always there; a program named with a placeholder (`{workdir}/agent`)
    is only known at the run, so it is taken as written."""
    if DEMO_MODULE in agent.command:
        return sys.executable
    program = agent.program
    if not program:
        return None
    if "{" in program:
        return program
    if os.sep in program:
        path = Path(program) if workdir is None else workdir / program
        return str(path) if os.access(path, os.X_OK) else None
    return shutil.which(program)


def run_workdir(project: Project, plan: Path) -> Path:
    """Where tasks run and `.pmtui/` lives: `[pool] workdir` (relative to the plan's folder),
    else the repository root when the plan is in a git repository, else the plan's folder
    (docs/design.md §3)."""
    assert project.config is not None
    configured = project.config.pool.workdir
    plan_dir = plan.resolve().parent
    if configured:
        return (plan_dir / Path(configured).expanduser()).resolve()
    return (find_repo_root(plan_dir) or plan_dir).resolve()


def _runs_isolated(config: Config) -> Callable[[Task], bool]:
    """Whether a task runs in its own worktree: its agent modifies code (isolation on)."""

    def isolated(task: Task) -> bool:
        agent = config.agents.get(config.agent_for(task.agent, task.script is not None))
        return agent is not None and agent.modifies_code

    return isolated


_WORKTREE_SETTING = re.compile(r"""^[ \t]*isolation[ \t]*=[ \t]*["']worktree["']""", re.M)


def _worktree_without_repo(config: Config, plan_shown: str) -> Problem:
    """`isolation = "worktree"` for a plan outside any git repository: nothing to isolate in."""
    where, line = plan_shown, 1
    for source in reversed(config.sources):  # the nearest file that says "worktree"
        try:
            text = read_text(Path(source), source)
        except SourceError:
            continue
        found = _WORKTREE_SETTING.search(text)
        if found:
            where, line = source, text.count("\n", 0, found.start()) + 1
            break
    return Problem(
        where,
        line,
        1,
        f'conflicts.isolation = "worktree", but {plan_shown} is not in a git repository: '
        "tasks will share one folder and take file locks",
        'run `git init` in the plan\'s folder, or set isolation = "auto" (or "none")',
        Severity.WARNING,
    )


def update_plan(plan_path: Path, done_ids: Iterable[str]) -> int:
    """Tick `[x]` on the tasks in `done_ids`, found where they are in the plan now.

    The plan is read and parsed again (it may have been edited during the run); ids no
    longer in it are skipped, and of a duplicated id only the first task (the one that ran)
    is ticked. Returns how many lines were ticked.

    Raises:
        SourceError: The plan cannot be read or replaced (it is then unchanged).
    """
    shown = _shown(plan_path)
    plan, _ = parse_plan(read_text(plan_path, shown), shown)
    wanted = set(done_ids)
    lines: list[int] = []
    for task in plan.tasks:
        if task.id in wanted:
            wanted.discard(task.id)  # the first definition wins, as in validation
            if not task.done:
                lines.append(task.source.line)
    return tick_lines(plan_path, lines, shown)
