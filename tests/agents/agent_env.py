"""Where the real agent CLIs are, and the environments that point them at a `FakeLLM`.

Facts these helpers rely on (claude-code 2.1.197, codex-cli 0.171.0, gemini-cli 0.61.0,
aider-chat 0.86.2 and opencode 1.18.33, checked on a 2-core Linux container, as root):

* Claude Code talks to `ANTHROPIC_BASE_URL` (the server's root, WITHOUT `/v1`) with
  `ANTHROPIC_API_KEY`; `-p` skips onboarding. Quiet start: `DISABLE_AUTOUPDATER`,
  `DISABLE_TELEMETRY`, `DISABLE_ERROR_REPORTING`, `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`.
  It retries a 429/529 ten times by default (~3 minutes); `CLAUDE_CODE_MAX_RETRIES` caps that,
  and it waits what `retry-after` says (its own ~0.6 s backoff when that is 0).
  As root, `--dangerously-skip-permissions` (and `--permission-mode bypassPermissions`) is
  refused ("cannot be used with root/sudo privileges for security reasons", exit 1) unless
  `IS_SANDBOX=1`; `acceptEdits` and `default` work as root without it.
* Codex ignores `OPENAI_BASE_URL` for this (its built-in provider tries WebSockets first, then
  waits 60 s): it needs a custom provider in `$CODEX_HOME/config.toml` with `wire_api =
  "responses"`, a `base_url` ending in `/v1` and an `env_key` naming the variable that holds
  the key. A 429 is retried `stream_max_retries` times (an `error` event "Reconnecting...
  1/1 (...)"), not `request_max_retries`; a usage limit is never retried. A model name it
  knows (`gpt-5.5`) makes it offer a freeform `apply_patch` tool and report `file_change`
  items; an unknown one gets only a shell tool (`exec_command`) and a "Model metadata ... not
  found" error item. It prints reset times in local time, hence `TZ=UTC`. `--sandbox
  workspace-write` works as root in a container (writes outside the workspace and /tmp fail
  with "Read-only file system"). With a CODEX_HOME under /tmp it warns on stderr that it
  could not create PATH aliases; with stdin not a terminal it prints "Reading additional input
  from stdin..." there: both are harmless.
* Gemini CLI talks to `GOOGLE_GEMINI_BASE_URL` (the root) with `GEMINI_API_KEY`. That variable
  alone makes it pick the "gateway" auth type, which its non-interactive check then rejects
  ("Invalid auth method selected.", exit 41): `security.auth.selectedType = "gemini-api-key"`
  in `~/.gemini/settings.json` keeps the API-key auth and the base URL. With no `-m` (model
  "auto") its router first asks a classifier (`:generateContent` with a JSON schema) which
  model to use; with `-m MODEL` there is no such call. `GEMINI_CLI_TRUST_WORKSPACE=true`
  trusts the folder (else exit 55); `--approval-mode auto_edit` is enough for `write_file`.
  A call answered 429 without details is tried `general.maxAttempts` times in all
  (settings.json; default 10, at most 10), waiting 5 s, 10 s, 20 s... ("Attempt 1 failed
  with status 429. Retrying with backoff..." on stderr), then it exits 173 (429 & 0xFF); a
  per-day quota is never retried.
  It writes error reports to `$TMPDIR`.
* Aider (litellm) talks to `OPENAI_API_BASE` (ending in `/v1`) with `OPENAI_API_KEY` for a
  model named `openai/NAME`; `LITELLM_LOCAL_MODEL_COST_MAP=True` keeps litellm's price list
  local. Aider itself downloads litellm's price list into `~/.aider/caches` unless it knows
  the model already: `~/.aider.model.metadata.json` (read from HOME without any flag) gives
  the context window and the prices that make it print a cost. An unknown model gets the
  `whole` edit format (`--edit-format diff` for SEARCH/REPLACE blocks) and warnings
  (`--no-show-model-warnings`). Unless `--no-gitignore`, it adds `.aider*` to the
  repository's `.gitignore` (creating it); it always leaves `.aider.chat.history.md`,
  `.aider.input.history` and `.aider.tags.cache.v4/` in the working folder and `git add`s the
  files it creates. With `--yes-always` it also accepts its own offers to open a web page
  (`webbrowser.open`): the release notes on its first run in a HOME (unless
  `--no-show-release-notes`), the docs on model warnings (unless `--no-show-model-warnings`);
  `aider_env` sets `BROWSER=true` so nothing opens. A 429 is retried by the OpenAI client
  twice (after `retry-after`), then by Aider with sleeps of 0.25 s, 0.5 s... up to 32 s
  (about 64 s; its `RETRY_TIMEOUT = 60` is a constant: no flag or variable bounds it), after
  which it exits 0 without an edit.
* opencode reads its provider from `OPENCODE_CONFIG_CONTENT` (an `@ai-sdk/openai-compatible`
  provider whose `baseURL` ends in `/v1`; it streams Chat Completions with tools). It works
  in `$PWD` when that is set, not in its process's working directory (`--dir DIR` overrides
  both). On start it installs `@opencode-ai/plugin` with npm into its config folder
  (`$XDG_CONFIG_HOME/opencode`) unless that folder already has a `node_modules` folder and a
  `package.json` and `package-lock.json` naming the package: `opencode_env` writes those stubs,
  so nothing is downloaded. It wraps a prompt argument holding a space in double quotes. It
  also asks the model for a session title (a call without tools). A 429 is retried twice by
  the AI SDK, then it prints an `error` event and exits 1.
* `offline` points `HTTP(S)_PROXY` and npm's registry at a closed port on 127.0.0.1 (with
  `NO_PROXY` for 127.0.0.1): anything a CLI would fetch from the internet fails at once.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[2]
"""The repository's root: CI installs the CLIs into its `.agents` folder."""
CODEX_MODEL = "gpt-5.5"
"""A model Codex knows, so it offers `apply_patch` and reports `file_change` items."""
CODEX_KEY_VARIABLE = "FAKE_OPENAI_API_KEY"
"""The variable the fake Codex provider reads its key from (`env_key`)."""
FOREIGN = (
    "ANTHROPIC_",
    "CLAUDE_",
    "CLAUDECODE",
    "OPENAI_",
    "CODEX_",
    "PMTUI_",
    "GEMINI_",
    "GOOGLE_",
    "AIDER_",
    "LITELLM_",
    "OPENCODE_",
)
"""Prefixes of variables from the developer's own setup that must not reach an agent."""


GEMINI_MODEL = "gemini-fake"
"""The model Gemini CLI is given with `-m` (no router call then)."""
AIDER_MODEL = "openai/fake-model"
"""The model Aider is given (`openai/` makes litellm use the OpenAI-compatible API)."""
OPENCODE_MODEL = "fake/fake-model"
"""The model opencode is given: the fake provider of `opencode_config`, its one model."""
OPENCODE_PLUGIN_VERSION = "1.18.33"
"""The `@opencode-ai/plugin` version the stub config folder names (opencode's own)."""
PRICES_PER_MILLION = (3.0, 15.0)
"""The input and output prices (USD per million tokens) Aider and opencode are told, so
1200 / 40 tokens cost $0.0042."""
CLOSED = "http://127.0.0.1:9"
"""A port nothing listens on (discard): a proxy or registry there fails at once."""


class Server(Protocol):
    """What the helpers need of a server: its root URL (no `/v1`)."""

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        ...


def agent_program(name: str) -> Path | None:
    """The executable of an agent CLI, or None when it is not installed.

    Looks in `$PMTUI_AGENTS_BIN`, then `<repo>/.agents/node_modules/.bin` (where CI's
    `npm install --prefix <repo>/.agents ...` puts it), then `PATH`.
    """
    folders = [os.environ.get("PMTUI_AGENTS_BIN", ""), str(REPO / ".agents/node_modules/.bin")]
    for folder in folders:
        if folder and os.access(candidate := Path(folder) / name, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def base_env(home: Path) -> dict[str, str]:
    """The test's environment without the developer's agent settings nor `PWD`, with HOME at
    `home`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN)}
    env.pop("PWD", None)  # the test's own folder: opencode would work there, not in its cwd
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TZ="UTC", NO_COLOR="1")
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


def claude_env(server: Server, home: Path, *, max_retries: int = 0) -> dict[str, str]:
    """An environment in which `claude -p ...` uses `server` and nothing else on the network,
    retrying an API error `max_retries` times (`IS_SANDBOX=1` as root, so that bypassing
    permissions is allowed)."""
    env = base_env(home)
    env.update(
        ANTHROPIC_BASE_URL=server.url,
        ANTHROPIC_API_KEY="fake",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        CLAUDE_CODE_MAX_RETRIES=str(max_retries),
    )
    if os.geteuid() == 0:
        env["IS_SANDBOX"] = "1"
    return env


def codex_config(
    server: Server, *, model: str = CODEX_MODEL, request_retries: int = 0, stream_retries: int = 0
) -> str:
    """The `config.toml` of a Codex home whose only provider is `server`."""
    return f"""\
model = "{model}"
model_provider = "fake"
check_for_update_on_startup = false

[model_providers.fake]
name = "fake"
base_url = "{server.url}/v1"
env_key = "{CODEX_KEY_VARIABLE}"
wire_api = "responses"
request_max_retries = {request_retries}
stream_max_retries = {stream_retries}

[analytics]
enabled = false
"""


def codex_env(
    server: Server,
    home: Path,
    *,
    model: str = CODEX_MODEL,
    request_retries: int = 0,
    stream_retries: int = 0,
) -> dict[str, str]:
    """An environment in which `codex exec ...` uses `server`: `$CODEX_HOME/config.toml`
    written under `home`, the key in `FAKE_OPENAI_API_KEY`, clock in UTC."""
    env = base_env(home)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    config = codex_config(
        server, model=model, request_retries=request_retries, stream_retries=stream_retries
    )
    (codex_home / "config.toml").write_text(config, encoding="utf-8")
    env.update({"CODEX_HOME": str(codex_home), CODEX_KEY_VARIABLE: "fake"})
    return env


def offline(env: dict[str, str]) -> dict[str, str]:
    """`env` with every proxy and npm's registry at a closed local port (127.0.0.1 itself
    direct): whatever a CLI tries to fetch from the internet fails fast."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[name] = CLOSED
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(npm_config_registry=f"{CLOSED}/", npm_config_update_notifier="false")
    return env


def gemini_settings(*, max_attempts: int | None = None) -> dict[str, object]:
    """`~/.gemini/settings.json`: API-key auth (kept with a base URL), no update checks or
    usage statistics, and `max_attempts` tries of a model call when given."""
    general: dict[str, object] = {"enableAutoUpdate": False, "enableAutoUpdateNotification": False}
    if max_attempts is not None:
        general["maxAttempts"] = max_attempts
    return {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": general,
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
    }


def gemini_env(server: Server, home: Path, *, max_attempts: int | None = None) -> dict[str, str]:
    """An environment in which `gemini -p ...` uses `server` (settings in `home/.gemini`,
    error reports in `home/tmp`), trusting any folder."""
    env = offline(base_env(home))
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    settings = gemini_settings(max_attempts=max_attempts)
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    (home / "tmp").mkdir(exist_ok=True)
    env.update(
        GOOGLE_GEMINI_BASE_URL=server.url,
        GEMINI_API_KEY="fake",
        GEMINI_CLI_TRUST_WORKSPACE="true",
        TMPDIR=str(home / "tmp"),
    )
    return env


def aider_metadata(model: str = AIDER_MODEL) -> dict[str, object]:
    """litellm's metadata of `model`: a context window and prices."""
    per_input, per_output = (price / 1e6 for price in PRICES_PER_MILLION)
    return {
        model: {
            "max_tokens": 8192,
            "max_input_tokens": 128000,
            "max_output_tokens": 8192,
            "input_cost_per_token": per_input,
            "output_cost_per_token": per_output,
            "litellm_provider": "openai",
            "mode": "chat",
        }
    }


def aider_env(server: Server, home: Path, *, model: str = AIDER_MODEL) -> dict[str, str]:
    """An environment in which `aider --model openai/NAME ...` uses `server`: the model's
    metadata in `home/.aider.model.metadata.json` (and as Aider's cached price list, so it
    downloads none)."""
    env = offline(base_env(home))
    metadata = json.dumps(aider_metadata(model))
    (home / ".aider.model.metadata.json").write_text(metadata, encoding="utf-8")
    caches = home / ".aider" / "caches"
    caches.mkdir(parents=True, exist_ok=True)
    (caches / "model_prices_and_context_window.json").write_text(metadata, encoding="utf-8")
    env.update(
        OPENAI_API_BASE=f"{server.url}/v1",
        OPENAI_API_KEY="fake",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        BROWSER="true",  # `--yes-always` accepts its offers to open a web page: open none
    )
    return env


def opencode_config(server: Server) -> dict[str, object]:
    """opencode's configuration: one provider, `fake`, at `server`, priced, as the default."""
    provider, model = OPENCODE_MODEL.split("/", 1)
    per_input, per_output = PRICES_PER_MILLION
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            provider: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Fake",
                "options": {"baseURL": f"{server.url}/v1", "apiKey": "fake"},
                "models": {
                    model: {"name": model, "cost": {"input": per_input, "output": per_output}}
                },
            }
        },
        "model": OPENCODE_MODEL,
        "autoupdate": False,
        "share": "disabled",
    }


OPENCODE_QUIET = {
    f"OPENCODE_DISABLE_{name}": "1"
    for name in ("MODELS_FETCH", "AUTOUPDATE", "SHARE", "LSP_DOWNLOAD", "DEFAULT_PLUGINS")
}
"""What keeps opencode from fetching models, updates, sharing, language servers, plugins."""


def opencode_env(server: Server, home: Path) -> dict[str, str]:
    """An environment in which `opencode run ...` uses `server`, its config folder stubbed so
    that it installs nothing (see the module's notes)."""
    env = offline(base_env(home))
    folder = home / ".config" / "opencode"
    (folder / "node_modules").mkdir(parents=True, exist_ok=True)
    dependencies = {"@opencode-ai/plugin": OPENCODE_PLUGIN_VERSION}
    (folder / "package.json").write_text(
        json.dumps({"dependencies": dependencies}), encoding="utf-8"
    )
    lock = {"lockfileVersion": 3, "packages": {"": {"dependencies": dependencies}}}
    (folder / "package-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    env.update(OPENCODE_QUIET)
    env["OPENCODE_CONFIG_CONTENT"] = json.dumps(opencode_config(server))
    return env
