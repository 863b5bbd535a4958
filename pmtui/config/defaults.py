"""The built-in defaults of `pmtui.toml` (DESIGN.md §3), which reproduce seed 001.

Kept as plain TOML-shaped data: `pmtui init` writes exactly this, and every user file is
deep-merged over it.
"""

from __future__ import annotations

from typing import Any

DEMO_COMMAND = ["python", "-m", "pmtui.agents.demo"]
SHELL_COMMAND = ["sh", "-c", "{script}"]

SEED_AGENTS = (
    "swebok-engineer",
    "architect-agent",
    "qa-engineer",
    "error-handler",
    "performance-agent",
    "security-agent",
    "compliance-agent",
    "test-fixer-agent",
    "obsidian-test-agent",
    "ui-test-expert",
    "release-agent",
    "state-persistence-agent",
    "meta-agent",
    "agent-factory",
    "product-manager",
    "babok-agent",
    "ux-researcher",
    "technical-stabilization",
    "monitoring",
    "rollback",
    "alerts",
)
"""Every agent named in seed 001, bound to the demo agent until the user rebinds it."""

CODE_MODIFYING_AGENTS = frozenset(
    {
        "swebok-engineer",
        "architect-agent",
        "test-fixer-agent",
        "technical-stabilization",
        "rollback",
        "agent-factory",
    }
)

AGENT_KEYS: dict[str, Any] = {
    "command": DEMO_COMMAND,
    "modifies_code": True,
    "timeout": "",
    "estimate": "2m",
    "stdin": "none",
    "rate_limit_pattern": "",
}
"""What a key of `[agents.NAME]` is when a new agent leaves it out (`command` is required)."""


def _seed_agent(name: str) -> dict[str, Any]:
    return {
        "command": list(DEMO_COMMAND),
        "modifies_code": name in CODE_MODIFYING_AGENTS,
        "timeout": "30m",
        "estimate": "2m",
        "stdin": "none",
        "rate_limit_pattern": "",
    }


def default_settings() -> dict[str, Any]:
    """A fresh copy of every default, shaped like the TOML file."""
    agents: dict[str, Any] = {
        "shell": {
            "command": list(SHELL_COMMAND),
            "modifies_code": True,
            "timeout": "",
            "estimate": "30s",
            "stdin": "none",
            "rate_limit_pattern": "",
        },
        "demo": {
            "command": list(DEMO_COMMAND),
            "modifies_code": False,
            "timeout": "",
            "estimate": "10s",
            "stdin": "none",
            "rate_limit_pattern": "",
        },
    }
    agents.update({name: _seed_agent(name) for name in SEED_AGENTS})
    return {
        "pool": {
            "max_concurrent": 5,
            "emergency_boost": 8,
            "memory_per_agent": "256MB",
            "cpu_per_agent": 20,
            "default_timeout": "60m",
            "strategy": "critical-path",
            "default_agent": "",
            "workdir": "",
            "pause_mode": "soft",
        },
        "monitor": {
            "refresh_interval": "2s",
            "detail_level": "high",
            "show_performance": True,
            "theme": "pmtui-dark",
        },
        "conflicts": {
            "auto_resolve": True,
            "max_retries": 3,
            "retry_delay": "1s",
            "fallback_mode": "sequential",
            "isolation": "auto",
        },
        "isolation": {"base": "", "setup": [], "copy_files": []},
        "merge": {"check": []},
        "agents": agents,
        "compat": {
            "clusters": [
                ["error-handler", "qa-engineer", "performance-agent"],
                ["swebok-engineer", "architect-agent"],
                ["security-agent", "compliance-agent"],
                ["test-fixer-agent", "obsidian-test-agent", "ui-test-expert"],
            ],
            "never_together": [["meta-agent", "agent-factory"]],
            "singleton": ["state-persistence-agent"],
            "exclusive_with_code": ["release-agent"],
        },
        "keys": {
            "pause": "p",
            "hard_pause": "P",
            "retry": "r",
            "skip": "s",
            "abort": "a",
            "boost": "b",
            "logs": "enter",
            "gantt": "g",
            "compare": "c",
            "conflicts": "x",
            "events": "e",
            "theme": "t",
            "help": "?",
            "quit": "q",
        },
    }


COMMENTS: dict[str, str] = {
    "pool": "The pool of parallel slots",
    "pool.max_concurrent": "slots: how many tasks run at once",
    "pool.emergency_boost": "slots while boosted (critical tasks automatically, or key b)",
    "pool.memory_per_agent": "kill a task whose process group's RSS grows above this",
    "pool.cpu_per_agent": (
        "percent of one core: above it a task is flagged; while the machine's CPU is "
        "saturated no new task starts (never killed for CPU)"
    ),
    "pool.default_timeout": "every task has a timeout, so every run ends",
    "pool.strategy": "critical-path | dependency-first | priority | fifo | cost-first",
    "pool.default_agent": '"" = shell if the task has a script, else demo',
    "pool.workdir": ('"" = repository root if the plan is in a git repo, else the plan\'s folder'),
    "pool.pause_mode": "soft: stop starting tasks; hard: also SIGSTOP running ones",
    "monitor": "The live monitor and the headless progress lines",
    "monitor.refresh_interval": "headless progress lines; the TUI redraws on events",
    "monitor.detail_level": "full | high | medium | low",
    "monitor.show_performance": "show memory and CPU per agent",
    "monitor.theme": "pmtui-dark | pmtui-light | high-contrast",
    "conflicts": "Failures, retries and merge conflicts",
    "conflicts.auto_resolve": (
        "merge clean three-way merges of overlapping paths; a real conflict is never "
        "resolved automatically"
    ),
    "conflicts.max_retries": "extra attempts per task (a task's retries: key overrides it)",
    "conflicts.retry_delay": "first back-off; doubles, capped at 30s, ±20% jitter",
    "conflicts.fallback_mode": "sequential | abort: what to do when retries do not help",
    "conflicts.isolation": (
        "auto = a git worktree per code-modifying task when the plan is in a git repo; "
        "none = shared workspace with file locks"
    ),
    "isolation": "Preparing each task's worktree",
    "isolation.base": 'branch runs start from; "" = the current branch',
    "isolation.setup": 'argv run in each new worktree (e.g. ["npm", "ci"])',
    "isolation.copy_files": 'globs copied from the main checkout (e.g. [".env"])',
    "merge": "The serial merge queue",
    "merge.check": "argv run on the integration result after each merge; failing reverts it",
    "agents": "Agents: one table each; a task picks one with (agent: NAME)",
    "agents.command": (
        "argv; placeholders {prompt} {prompt_file} {script} {task_id} {workdir} {plan}"
    ),
    "agents.modifies_code": "true: runs isolated (worktree) or under file locks",
    "agents.timeout": '"" = pool.default_timeout',
    "agents.estimate": "expected duration when neither history nor the task says",
    "agents.stdin": "none | prompt (the prompt on stdin)",
    "agents.rate_limit_pattern": 'regex over output that means "rate limited", e.g. "429"',
    "compat": "The compatibility matrix (seed 001)",
    "compat.clusters": "agents of one cluster run together even on shared files",
    "compat.never_together": "pairs of agents that never run at the same time",
    "compat.singleton": "agents that run one instance at a time",
    "compat.exclusive_with_code": "agents that never run beside a code-modifying agent",
    "keys": "Keys of the monitor: action = key",
    "keys.pause": "pause / resume starting tasks",
    "keys.hard_pause": "pause and also stop (SIGSTOP) running tasks",
    "keys.retry": "retry the selected failed task now",
    "keys.skip": "skip the selected task and its dependents",
    "keys.abort": "abort the run (asks first; state is saved)",
    "keys.boost": "open or close the boost slots for any task",
    "keys.logs": "show the selected task's log",
    "keys.gantt": "the timeline and forecast",
    "keys.compare": "the agent comparison",
    "keys.conflicts": "the conflicts left by the merge queue, and the ways to resolve them",
    "keys.events": "the event log",
    "keys.theme": "next theme",
    "keys.help": "every key",
    "keys.quit": "quit (asks first while tasks run)",
}
"""One comment per key path (agents' keys under `agents.KEY`), written by `pmtui init`."""
