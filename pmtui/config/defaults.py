"""The built-in defaults of `pmtui.toml` (docs/design.md §3), which reproduce seed 001.

Kept as plain TOML-shaped data: `pmtui init` writes exactly this, and every user file is
deep-merged over it.
"""

from __future__ import annotations

import copy
from typing import Any

DEMO_COMMAND = ["python", "-m", "pmtui.agents.demo"]
SHELL_COMMAND = ["sh", "-c", "{script}"]

ROLE_TEXTS: dict[str, str] = {
    "swebok-engineer": "You are a software engineer. Implement the task in this repository, "
    "with tests, following its existing style.",
    "architect-agent": "You are the software architect. Design before code: record decisions "
    "and their reasons where the task says, and keep changes small and coherent.",
    "qa-engineer": "You are the QA engineer. Write and run tests for the task; report what "
    "fails, with the command that shows it.",
    "error-handler": "You are the error-handling specialist. Find how the code fails and make "
    "it fail clearly and safely.",
    "performance-agent": "You are the performance engineer. Measure before and after; change "
    "only what the measurements justify.",
    "security-agent": "You are the security reviewer. Look for vulnerabilities and report each "
    "with its location, impact and fix.",
    "compliance-agent": "You are the compliance reviewer. Check the task against the relevant "
    "rules (data protection, licences) and report gaps.",
    "test-fixer-agent": "You fix failing tests. Find the cause and fix the code or the test, "
    "whichever is wrong; never delete a test to make it pass.",
    "obsidian-test-agent": "You test documentation and notes: check every link, example and "
    "command they contain.",
    "ui-test-expert": "You test user interfaces: exercise each screen and state, and report "
    "what breaks.",
    "release-agent": "You are the release manager. Prepare the release the task describes; "
    "change no code beyond version and changelog.",
    "state-persistence-agent": "You own persisted state: schemas, migrations and backups. "
    "Never lose data.",
    "meta-agent": "You coordinate other agents: review the plan and report what is missing or "
    "at risk.",
    "agent-factory": "You create and configure agents and their prompts as the task describes.",
    "product-manager": "You are the product manager. Write requirements and decisions in plain "
    "language, in the files the task names.",
    "babok-agent": "You are a business analyst (BABOK). Elicit and write requirements with "
    "acceptance criteria.",
    "ux-researcher": "You are the UX researcher. Describe users, flows and screens, and what "
    "to test with users.",
    "technical-stabilization": "You stabilise production systems: make the smallest safe "
    "change that stops the damage.",
    "monitoring": "You own monitoring: metrics, dashboards and alerts for what the task "
    "describes.",
    "rollback": "You roll back a bad change safely and verify the system is healthy after.",
    "alerts": "You handle alerting and communication: who needs to know what, and when.",
}
"""Every agent named in seed 001, as a **role**: a text put before the task's prompt, run by
its `base` agent (`[pool] default_agent` when unset) — never a simulator."""

SEED_AGENTS = tuple(ROLE_TEXTS)

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

PRESETS: dict[str, dict[str, Any]] = {
    "claude": {
        "command": [
            "claude",
            "-p",
            "{prompt}",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
        ],
        "parser": "claude-stream-json",
        "provider": "anthropic",
        "resume": ["--resume", "{session_id}"],
        "env": {
            # pmtui owns the back-off: Claude Code's own 10 retries take ~3 minutes.
            "CLAUDE_CODE_MAX_RETRIES": "2",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        },
        "api_key_env": ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"],
        "install": "npm install -g @anthropic-ai/claude-code",
        "min_version": "2.1.0",
    },
    "codex": {
        "command": [
            "codex",
            "exec",
            "--json",
            "--sandbox",
            "workspace-write",
            "--skip-git-repo-check",
            "{prompt}",
        ],
        "parser": "codex-json",
        "provider": "openai",
        "resume": ["resume", "{session_id}"],
        "env": {},
        "api_key_env": ["OPENAI_API_KEY", "CODEX_API_KEY"],
        "install": "npm install -g @openai/codex",
        "min_version": "0.171.0",
    },
    "gemini": {
        "command": [
            "gemini",
            "-p",
            "{prompt}",
            "--output-format",
            "stream-json",
            "--approval-mode",
            "auto_edit",
        ],
        "parser": "gemini-stream-json",
        "provider": "google",
        "resume": ["--resume", "{session_id}"],
        # A task's worktree is new each time: without this Gemini CLI refuses it (exit 55).
        "env": {"GEMINI_CLI_TRUST_WORKSPACE": "true"},
        "api_key_env": ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        "install": "npm install -g @google/gemini-cli",
        "min_version": "0.61.0",
    },
    "aider": {
        "command": [
            "aider",
            "--message",
            "{prompt}",
            "--yes-always",
            "--no-auto-commits",
            "--no-stream",
            "--no-pretty",
            "--no-fancy-input",
            "--no-check-update",
            "--analytics-disable",
            # --yes-always would otherwise accept its offers to open web pages.
            "--no-show-release-notes",
            "--no-show-model-warnings",
        ],
        "parser": "aider-text",
        "provider": "",
        "resume": [],
        "env": {},
        "api_key_env": ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"],
        "install": "pip install aider-chat",
        "min_version": "0.86.0",
    },
    "opencode": {
        "command": ["opencode", "run", "--format", "json", "{prompt}"],
        "parser": "opencode-json",
        "provider": "",
        "resume": ["-s", "{session_id}"],
        "env": {
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_SHARE": "1",
        },
        "api_key_env": ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"],
        "install": "npm install -g opencode-ai",
        "min_version": "1.18.0",
    },
}
"""The real agent CLIs pmtui knows, each in its headless JSON mode with permission to edit
files in its working directory unattended (docs/design.md §3)."""

PRICES: dict[str, dict[str, float]] = {
    "gpt-5": {"input_per_mtok": 1.25, "output_per_mtok": 10.0},
    "gpt-5-mini": {"input_per_mtok": 0.25, "output_per_mtok": 2.0},
    "gpt-5-nano": {"input_per_mtok": 0.05, "output_per_mtok": 0.40},
    "gpt-5-codex": {"input_per_mtok": 1.25, "output_per_mtok": 10.0},
    "gpt-5.1": {"input_per_mtok": 1.25, "output_per_mtok": 10.0},
    "gpt-5.1-codex": {"input_per_mtok": 1.25, "output_per_mtok": 10.0},
    "gpt-5.1-codex-mini": {"input_per_mtok": 0.25, "output_per_mtok": 2.0},
    "gpt-5.2": {"input_per_mtok": 1.75, "output_per_mtok": 14.0},
    "gpt-5.5": {"input_per_mtok": 1.75, "output_per_mtok": 14.0},
    "gemini-2.5-pro": {"input_per_mtok": 1.25, "output_per_mtok": 10.0},
    "gemini-2.5-flash": {"input_per_mtok": 0.30, "output_per_mtok": 2.50},
    "gemini-2.5-flash-lite": {"input_per_mtok": 0.10, "output_per_mtok": 0.40},
    "gemini-3-pro-preview": {"input_per_mtok": 2.0, "output_per_mtok": 12.0},
    "gemini-3.1-pro-preview": {"input_per_mtok": 2.0, "output_per_mtok": 12.0},
    "gemini-3-flash-preview": {"input_per_mtok": 0.50, "output_per_mtok": 3.0},
}
"""List prices (US dollars per million tokens, the lowest tier) of the models whose agent
CLIs report tokens but no cost: Codex (OpenAI) and Gemini CLI (Google). Check your
provider's: `[prices."MODEL"]` overrides them. Cached input costs a tenth of the input
price unless `cache_read_per_mtok` says otherwise."""

PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok")
"""The keys of `[prices."MODEL"]`; the first two are required for a new model."""

PRESET_ORDER = ("claude", "codex", "gemini", "aider", "opencode")
"""The order `pmtui init` looks for an installed CLI to make the default agent."""

AGENT_KEYS: dict[str, Any] = {
    "command": [],
    "modifies_code": True,
    "timeout": "",
    "estimate": "2m",
    "stdin": "none",
    "rate_limit_pattern": "",
    "parser": "progress",
    "provider": "",
    "model": "",
    "max_turns": 0,
    "args": [],
    "env": {},
    "resume": [],
    "resume_on_failure": False,
    "retries": -1,
    "api_key_env": [],
    "install": "",
    "min_version": "",
}
"""What a key of `[agents.NAME]` is when a new agent leaves it out (`command` is required).
`max_turns = 0`: no limit; `retries = -1`: `conflicts.max_retries`."""

ROLE_KEYS: dict[str, Any] = {
    "base": "",
    "role": "",
    "modifies_code": False,
    "timeout": "",
    "estimate": "",
}
"""The keys of a role (`base` set, or a seed role): what it adds to its base agent.

A role may also set `model`, `max_turns`, `args`, `env`, `retries` and `rate_limit_pattern`
to override its base's; `timeout` and `estimate` "" = its base's."""

ROLE_OVERRIDES = (
    "model",
    "max_turns",
    "args",
    "env",
    "retries",
    "rate_limit_pattern",
    "resume_on_failure",
)


def new_agent(**values: Any) -> dict[str, Any]:
    """A fresh agent table: `AGENT_KEYS` (copied, never shared) with `values` over them."""
    return {**copy.deepcopy(AGENT_KEYS), **values}


def _role(name: str) -> dict[str, Any]:
    return {
        "base": "",
        "role": ROLE_TEXTS[name],
        "modifies_code": name in CODE_MODIFYING_AGENTS,
        "timeout": "30m",
        "estimate": "",
    }


def _preset(name: str) -> dict[str, Any]:
    preset = PRESETS[name]
    return {
        "command": list(preset["command"]),
        "modifies_code": True,
        "timeout": "",
        "estimate": "5m",
        "stdin": "none",
        "rate_limit_pattern": "",
        "parser": preset["parser"],
        "provider": preset["provider"],
        "model": "",
        "max_turns": 0,
        "args": [],
        "env": dict(preset["env"]),
        "resume": list(preset["resume"]),
        "resume_on_failure": False,
        # A real agent's failure is seldom passing, and each attempt costs money.
        "retries": 1,
        "api_key_env": list(preset["api_key_env"]),
        "install": preset["install"],
        "min_version": preset["min_version"],
    }


def default_settings() -> dict[str, Any]:
    """A fresh copy of every default, shaped like the TOML file."""
    agents: dict[str, Any] = {
        "shell": new_agent(command=list(SHELL_COMMAND), estimate="30s"),
        "demo": new_agent(command=list(DEMO_COMMAND), modifies_code=False, estimate="10s"),
    }
    agents.update({name: _preset(name) for name in PRESET_ORDER})
    agents.update({name: _role(name) for name in SEED_AGENTS})
    return {
        "pool": {
            "max_concurrent": 5,
            "emergency_boost": 8,
            "memory_per_agent": "4GB",
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
            "rate_limit_backoff": "30s",
            "fallback_mode": "sequential",
            "isolation": "auto",
        },
        "isolation": {"base": "", "setup": [], "copy_files": []},
        "merge": {"check": []},
        "budget": {"max_cost_usd": 0.0, "max_tokens": 0},
        "prices": copy.deepcopy(PRICES),
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
    "pool.memory_per_agent": (
        "kill a task whose processes' memory (PSS of the whole tree) grows above this; real "
        "agent CLIs sit at 150-620 MiB before any test run"
    ),
    "pool.cpu_per_agent": (
        "percent of one core: above it a task is flagged; while the machine's CPU is "
        "saturated no new task starts (never killed for CPU)"
    ),
    "pool.default_timeout": "every task has a timeout, so every run ends",
    "pool.strategy": "critical-path | dependency-first | priority | fifo | cost-first",
    "pool.default_agent": (
        'the agent of tasks and roles that name none, e.g. "claude"; "" = shell for a task '
        "with a script, else pmtui check reports the task"
    ),
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
    "conflicts.rate_limit_backoff": (
        "a provider's first pause after a rate limit; doubles, capped at 10m (a reset time "
        "the agent names wins)"
    ),
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
    "budget": "What one run may spend on agents (with --resume: all its sessions together)",
    "prices": "Model prices in US dollars per million tokens (list prices: check your provider's)",
    "prices.MODEL": (
        "for agents that report tokens but no cost (Codex, Gemini CLI); a model not listed "
        'prices as the longest name it starts with before a "-" or "@" (gpt-5-2025-08-07 as '
        'gpt-5); override one with [prices."gpt-5"] input_per_mtok = 1.25'
    ),
    "prices.input_per_mtok": "uncached input",
    "prices.output_per_mtok": "output (reasoning included)",
    "prices.cache_read_per_mtok": "cached input read back (default: a tenth of input_per_mtok)",
    "budget.max_cost_usd": (
        "dollars; when reached no new agent task starts, and those left end skipped "
        "(exit 1); 0 = no limit; pmtui run --budget USD overrides it"
    ),
    "budget.max_tokens": "tokens agents report (input, output, cache reads); 0 = no limit",
    "agents": "Agents: one table each; a task picks one with (agent: NAME)",
    "agents.command": (
        "argv; placeholders {prompt} {prompt_file} {script} {task_id} {workdir} {plan}"
    ),
    "agents.modifies_code": "true: runs isolated (worktree) or under file locks",
    "agents.timeout": '"" = pool.default_timeout',
    "agents.estimate": "expected duration when neither history nor the task says",
    "agents.stdin": "none | prompt (the prompt on stdin)",
    "agents.rate_limit_pattern": 'regex over output that means "rate limited", e.g. "429"',
    "agents.parser": (
        "how its output is read: claude-stream-json | codex-json | gemini-stream-json | "
        "opencode-json | aider-text | progress (::progress:: lines)"
    ),
    "agents.provider": 'whose rate limits it shares: agents of one provider back off together',
    "agents.model": 'passed with the CLI\'s model flag when set ("" = the CLI\'s default)',
    "agents.max_turns": "Claude Code's --max-turns (0 = no limit)",
    "agents.args": "extra arguments, put before the prompt",
    "agents.env": 'added to its environment, e.g. { ANTHROPIC_BASE_URL = "http://..." }',
    "agents.resume": "arguments that continue a session ({session_id}); [] = cannot resume",
    "agents.retries": "extra attempts of its tasks (-1 = conflicts.max_retries)",
    "agents.resume_on_failure": (
        "continue the agent's session after a plain failure too (an interrupted attempt's "
        "session is always continued)"
    ),
    "agents.api_key_env": "variables that hold its API key (a CLI logged in by itself needs none)",
    "agents.install": "how to install its program",
    "agents.min_version": "the oldest version whose flags pmtui knows (older: a warning)",
    "agents.base": 'a role runs as this agent ("" = pool.default_agent)',
    "agents.role": "a role's text, put before each task's prompt",
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
