"""What does pmtui cost when it runs real agent CLIs, next to `xargs -P5` running the same argv,
and how much CPU does it take to follow agents that stream?

    .venv/bin/python bench/agents.py [--tasks 20] [--slots 5] [--repeats 3] [--agents 8]
        [--seconds 30] [--rate 50] [--part a|b|both] [--quick] [--gate]

(A) Real CLIs. 20 tasks, `(agent: claude)` and `(agent: codex)` alternating, each prompt a
`fake:write fN.txt N` directive for tests/fakellm.py's `FakeLLM` (instant replies: the model
writes one file, then says DONE). The folder is NOT a git repository, so both sides do the
same work: no worktrees, no merges, every task writes into the one folder. Its pmtui.toml
sets `[agents.codex] model = "gpt-5.5"` and `[pool] max_concurrent = 5`.

- pmtui: `python -m pmtui run plan.md --no-ui`, spawn to exit (start-up, the agents'
  `--version` check, the store and the logs included);
- the reference: the exact argv pmtui runs for each task, taken from pmtui's own code
  (`build_launch(config.agents[agent], task.prompt)` then `render_argv` with the values of
  `_LiveRun.prepare`), with the same environment (the agent's `env` from the config and the
  PMTUI_* variables pmtui adds), stdin /dev/null and the output into a log file, one tiny
  shell script per task run by `xargs -P5 -n1 sh`.

Both sides use the same copy of the environment (the CLIs pointed at one FakeLLM through
tests/agents/agent_env.py), run interleaved (who goes first alternates), best of 3; every
run of either side must leave the 20 files with their contents. The CLIs are looked for in
$PMTUI_AGENTS_BIN, .agents/node_modules/.bin (`make test` installs them) and PATH; when one
is missing, part A says so and is skipped. Target: pmtui ≤ 1.05 × xargs -P5.

(B) Streaming agents. 8 tasks of a fake agent (a Python script written into the temp folder)
that prints Claude Code `--output-format stream-json` lines as a busy session does: a
`system/init` line, then assistant messages (text blocks, `tool_use` blocks) and the `user`
tool results, 50 lines a second each, until the benchmark says stop, then a `result` line.
It is configured as `[agents.streamer] command = [PYTHON, SCRIPT, ...]`, `parser =
"claude-stream-json"`, 8 slots. pmtui runs it twice (interleaved, best of 2): headless
(`--no-ui`, the engine only) and with the monitor in a real pseudo-terminal (200x60, its
screen output read and thrown away). Once the 8 agents stream, pmtui's own CPU time (psutil
`cpu_times()` of the pmtui process, user + system, not its children) is read over 30 s of
wall clock: the percent of one core. Target: < 10 % of one core, both ways.

`--quick`: part A with 6 tasks run once, part B for 3 s once (the smoke test). `--gate`: exit 1
when a target is missed; without it the script exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests/ holds the fake LLM server and the agents' env

from pmtui.agents.launch import build_launch  # noqa: E402
from pmtui.engine.process import render_argv  # noqa: E402
from pmtui.project import load_project  # noqa: E402
from pmtui.store.files import find_repo_root  # noqa: E402
from tests.agents.agent_env import agent_program, claude_env, codex_env  # noqa: E402
from tests.fakellm import FakeLLM  # noqa: E402

PYTHON = sys.executable
TARGET_TASKS = 20
TARGET_RATIO = 1.05
TARGET_CPU_PCT = 10.0
RUN_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 60.0
TERMINAL = (200, 60)
"""Columns and rows of the monitor's pseudo-terminal."""
RUN_ID = "20260101-000000-bnch"
"""PMTUI_RUN_ID of the reference side, shaped as pmtui's own (a timestamp and 4 characters)."""

CONFIG_A = """\
[pool]
max_concurrent = {slots}

[agents.codex]
model = "gpt-5.5"
"""

CONFIG_B = """\
[pool]
max_concurrent = {agents}

[agents.streamer]
command = {command}
parser = "claude-stream-json"
"""

STREAMER = r'''
"""A fake Claude Code session streaming stream-json lines until the file STOP exists."""
import json, os, sys, time, uuid

ready, stop, rate, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
task = os.environ.get("PMTUI_TASK_ID", "x")
session = str(uuid.uuid4())
model = "claude-opus-4-8"
out = sys.stdout
usage = {"input_tokens": 1200, "output_tokens": 1, "cache_creation_input_tokens": 0,
         "cache_read_input_tokens": 0}
words = ("Let me look at the parser first, then update the tests so the new case is covered "
         "and the docs say what changed.").split()


def emit(event):
    out.write(json.dumps(event, separators=(",", ":")) + "\n")
    out.flush()


def assistant(message_id, block):
    return {"type": "assistant", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [block], "stop_reason": None, "stop_sequence": None, "usage": usage,
        "context_management": None}, "parent_tool_use_id": None, "session_id": session,
        "uuid": str(uuid.uuid4())}


emit({"type": "system", "subtype": "init", "cwd": os.getcwd(), "session_id": session,
      "tools": ["Bash", "Edit", "Read", "Write"], "mcp_servers": [], "model": model,
      "permissionMode": "acceptEdits", "apiKeySource": "ANTHROPIC_API_KEY",
      "claude_code_version": "2.1.197", "output_style": "default", "uuid": str(uuid.uuid4())})
open(os.path.join(ready, task), "w").close()
start = time.monotonic()
n = turn = 0
tool_id = ""
while not os.path.exists(stop) and time.monotonic() - start < limit:
    step = n % 8
    if step == 0:
        turn += 1
        message_id = f"msg_{task}_{turn:06d}"
    if step < 5:  # text, a few words at a time
        text = " ".join(words[(n * 3) % len(words):][:6]) or "ok"
        emit(assistant(message_id, {"type": "text", "text": f"{text} ({turn}.{step})"}))
    elif step == 5:
        tool_id = f"toolu_{task}_{turn:06d}"
        path = os.path.join(os.getcwd(), f"src/module_{turn % 40}.py")
        block = {"type": "tool_use", "id": tool_id, "name": "Edit", "input": {
            "file_path": path, "old_string": "return None", "new_string": "return value"}}
        emit(assistant(message_id, block))
    elif step == 6:
        emit({"type": "user", "message": {"role": "user", "content": [{
            "tool_use_id": tool_id, "type": "tool_result",
            "content": "The file has been updated successfully."}]},
            "parent_tool_use_id": None, "session_id": session, "uuid": str(uuid.uuid4())})
    else:
        block = {"type": "tool_use", "id": f"{tool_id}b", "name": "Bash",
                 "input": {"command": "python -m pytest -q tests/test_module.py",
                           "description": "Run the module's tests"}}
        emit(assistant(message_id, block))
    n += 1
    wait = start + n / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
emit({"type": "result", "subtype": "success", "is_error": False, "api_error_status": None,
      "duration_ms": int((time.monotonic() - start) * 1000), "num_turns": turn,
      "result": "DONE", "stop_reason": "end_turn", "session_id": session,
      "total_cost_usd": 0.01 * turn, "usage": {"input_tokens": 1200 * turn,
      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
      "output_tokens": 40 * turn}, "permission_denials": [], "uuid": str(uuid.uuid4())})
'''


def temp_base() -> Path:
    """A folder for the temporary files that is in no git repository (pmtui would run the
    tasks in worktrees there, and take the repository's lock): the temp folder, else
    /var/tmp, else /dev/shm."""
    for candidate in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):
        base = Path(candidate)
        if base.is_dir() and os.access(base, os.W_OK) and find_repo_root(base) is None:
            return base
    raise SystemExit("no temporary folder outside a git repository (tried $TMPDIR, /var/tmp)")


def stage(name: str) -> None:
    """Say where the benchmark is (on stderr), so a stall shows where it is."""
    print(f"  … {name}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- (A) real CLIs


def plan_a(tasks: int) -> str:
    lines = ["# Plan: real agents, fake LLM", "", "## Phase 1 [PARALLEL]"]
    for index in range(1, tasks + 1):
        agent = "claude" if index % 2 else "codex"
        lines.append(f"- [ ] 1.{index} fake:write f{index}.txt {index} (agent: {agent})")
    return "\n".join(lines) + "\n"


def make_folder_a(folder: Path, tasks: int, slots: int) -> None:
    folder.mkdir(parents=True)
    (folder / "plan.md").write_text(plan_a(tasks))
    (folder / "pmtui.toml").write_text(CONFIG_A.format(slots=slots))


def reference_scripts(folder: Path) -> list[Path]:
    """One shell script per task, running the argv pmtui runs for it (`prepare`'s values),
    with its environment additions, stdin /dev/null and the output into a log file."""
    project = load_project(folder / "plan.md")
    assert project.ok and project.plan is not None and project.config is not None
    plan_path = str((folder / "plan.md").resolve())
    scripts = []
    (folder / "ref").mkdir()
    for task in project.plan.tasks:
        agent = project.config.agents[project.agent_of(task)]
        launch = build_launch(agent, task.prompt)
        assert not launch.stdin_prompt and not any("{prompt_file}" in p for p in launch.command)
        values = {
            "prompt": launch.prompt,
            "prompt_file": str(folder / "ref" / f"{task.id}.prompt"),
            "script": task.script or "",
            "task_id": task.id,
            "workdir": str(folder),
            "plan": plan_path,
        }
        argv = render_argv(launch.command, values)
        env = {
            **agent.env,
            "PMTUI_TASK_ID": task.id,
            "PMTUI_PLAN": plan_path,
            "PMTUI_WORKDIR": str(folder),
            "PMTUI_ATTEMPT": "1",
            "PMTUI_RUN_ID": RUN_ID,
        }
        exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())
        log = folder / "ref" / f"{task.id}.log"
        script = folder / "ref" / f"{task.id}.sh"
        script.write_text(
            f"cd {shlex.quote(str(folder))} || exit 1\n{exports}"
            f"exec {shlex.join(argv)} </dev/null >{shlex.quote(str(log))} 2>&1\n"
        )
        scripts.append(script)
    return scripts


def written(folder: Path, tasks: int) -> int:
    """How many of the tasks' files hold what their task wrote."""
    count = 0
    for index in range(1, tasks + 1):
        path = folder / f"f{index}.txt"
        if path.is_file() and path.read_text().strip() == str(index):
            count += 1
    return count


def reset_a(folder: Path, tasks: int) -> None:
    for index in range(1, tasks + 1):
        (folder / f"f{index}.txt").unlink(missing_ok=True)
    shutil.rmtree(folder / ".pmtui", ignore_errors=True)
    shutil.rmtree(folder / ".claude", ignore_errors=True)


def timed(argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:5])} ... exited {done.returncode}:\n"
            f"{done.stdout.decode(errors='replace')[-2000:]}"
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed


@dataclass
class PartA:
    pmtui_s: list[float] = field(default_factory=list)
    xargs_s: list[float] = field(default_factory=list)
    pmtui_files: list[int] = field(default_factory=list)
    xargs_files: list[int] = field(default_factory=list)
    model_calls: int = 0


def run_part_a(tmp: Path, tasks: int, slots: int, repeats: int, warm_up: bool) -> PartA:
    claude, codex = agent_program("claude"), agent_program("codex")
    assert claude is not None and codex is not None
    result = PartA()
    with FakeLLM() as server:
        home = tmp / "home"
        env = {**claude_env(server, home), **codex_env(server, home)}
        folders = dict.fromkeys(str(program.parent) for program in (claude, codex))
        env["PATH"] = os.pathsep.join([*folders, env["PATH"]])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        side_pmtui, side_xargs = tmp / "pmtui", tmp / "xargs"
        make_folder_a(side_pmtui, tasks, slots)
        make_folder_a(side_xargs, tasks, slots)
        scripts = reference_scripts(side_xargs)
        pmtui_argv = [PYTHON, "-m", "pmtui", "run", "plan.md", "--no-ui"]
        xargs_argv = [shutil.which("xargs") or "xargs", f"-P{slots}", "-n1", "sh"]
        xargs_input = "".join(f"{script}\n" for script in scripts).encode()

        def pmtui_once() -> None:
            reset_a(side_pmtui, tasks)
            result.pmtui_s.append(timed(pmtui_argv, side_pmtui, env))
            result.pmtui_files.append(written(side_pmtui, tasks))
            stage(f"pmtui {result.pmtui_s[-1]:.2f} s")

        def xargs_once() -> None:
            reset_a(side_xargs, tasks)
            result.xargs_s.append(timed(xargs_argv, side_xargs, env, xargs_input))
            result.xargs_files.append(written(side_xargs, tasks))
            stage(f"xargs {result.xargs_s[-1]:.2f} s")

        if warm_up:  # the CLIs' files into the page cache, their first-run set-up done
            stage("warm-up (not timed)")
            reset_a(side_xargs, tasks)
            timed(xargs_argv, side_xargs, env, xargs_input)
            result.xargs_s.clear()
        for round_ in range(repeats):
            for once in (pmtui_once, xargs_once) if round_ % 2 == 0 else (xargs_once, pmtui_once):
                once()
        result.model_calls = len(server.model_requests)
    return result


def report_a(result: PartA, tasks: int, slots: int, repeats: int) -> bool:
    pmtui_s, xargs_s = min(result.pmtui_s), min(result.xargs_s)
    ratio = pmtui_s / xargs_s
    print(
        f"(A) {tasks} tasks, claude and codex alternating, against the fake LLM server"
        f" (instant replies), {slots} slots"
    )
    print(
        "    the folder is not a git repository: no worktrees or merges on either side;"
        " the same argv and environment"
    )
    print(f"    wall clock, spawn to exit, best of {repeats} (interleaved):")
    runs = "  ".join(f"{s:.2f}" for s in result.pmtui_s)
    print(f"      {'pmtui run --no-ui':<34}{pmtui_s:8.3f} s   runs: {runs}")
    runs = "  ".join(f"{s:.2f}" for s in result.xargs_s)
    print(f"      {f'xargs -P{slots} -n1 sh (same argv)':<34}{xargs_s:8.3f} s   runs: {runs}")
    print(f"      {f'pmtui / xargs -P{slots}':<34}{ratio:8.3f} ×")
    files = (
        f"pmtui {'/'.join(map(str, result.pmtui_files))}, "
        f"xargs {'/'.join(map(str, result.xargs_files))} of {tasks}"
    )
    print(f"    files written, each run: {files}; model calls: {result.model_calls}")
    ok = all(n == tasks for n in result.pmtui_files + result.xargs_files)
    met = ok and ratio <= TARGET_RATIO
    note = "" if tasks == TARGET_TASKS else f" (at {tasks} tasks; the target is for {TARGET_TASKS})"
    verdict = "MET" if met else ("NOT MET" if ok else "NOT MET (files missing)")
    print(f"target: pmtui ≤ {TARGET_RATIO:g} × xargs -P{slots} — {ratio:.2f} ×: {verdict}{note}")
    return met


# --------------------------------------------------------------------------- (B) streaming


def plan_b(agents: int) -> str:
    lines = ["# Plan: streaming agents", "", "## Phase 1 [PARALLEL]"]
    for index in range(1, agents + 1):
        lines.append(f"- [ ] 1.{index} Stream {index} (agent: streamer)")
    return "\n".join(lines) + "\n"


class Drain(threading.Thread):
    """Reads a pty's master side until the terminal closes; keeps only a tail and a count."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.bytes = 0
        self.tail = b""

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.bytes += len(chunk)
            self.tail = (self.tail + chunk)[-8192:]


@dataclass
class Streamed:
    cpu_pct: float
    lines_per_s: float
    terminal_bytes_per_s: float = 0.0


def stream_once(folder: Path, agents: int, seconds: float, rate: float, ui: bool) -> Streamed:
    """One run of pmtui over the streaming agents; its CPU while all of them stream."""
    shutil.rmtree(folder / ".pmtui", ignore_errors=True)
    ready, stop = folder / "ready", folder / "stop"
    shutil.rmtree(ready, ignore_errors=True)
    ready.mkdir()
    stop.unlink(missing_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PMTUI_")}
    argv = [PYTHON, "-m", "pmtui", "run", "plan.md"]
    drain: Drain | None = None
    master = -1
    if ui:
        master, slave = os.openpty()
        columns, rows = TERMINAL
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        process = subprocess.Popen(
            argv,
            cwd=folder,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        drain = Drain(master)
        drain.start()
    else:
        process = subprocess.Popen(
            [*argv, "--no-ui"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    me = psutil.Process(process.pid)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while len(list(ready.iterdir())) < agents:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"pmtui ({'monitor' if ui else 'headless'}) did not start the"
                    f" {agents} agents (exit {process.poll()})"
                )
            time.sleep(0.05)
        time.sleep(0.5)  # the last agent's first lines are in
        logs = folder / ".pmtui" / "logs"
        lines_before = count_lines(logs)
        bytes_before = drain.bytes if drain else 0
        wall_start, cpu_start = time.perf_counter(), me.cpu_times()
        time.sleep(seconds)
        cpu, wall = me.cpu_times(), time.perf_counter() - wall_start
        lines = count_lines(logs) - lines_before
        shown = (drain.bytes if drain else 0) - bytes_before
        stop.touch()
        if ui:
            assert drain is not None
            end = time.monotonic() + 30
            while process.poll() is None and time.monotonic() < end:
                if b"press q to leave" in drain.tail or not me.children():
                    time.sleep(0.5)
                    os.write(master, b"q")
                time.sleep(0.5)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if master >= 0:
            os.close(master)
    if code != 0:
        raise SystemExit(f"pmtui ({'monitor' if ui else 'headless'}) exited {code}")
    used = cpu.user + cpu.system - cpu_start.user - cpu_start.system
    return Streamed(100 * used / wall, lines / wall, shown / wall)


def count_lines(logs: Path) -> int:
    """The lines in the tasks' logs pmtui wrote so far."""
    total = 0
    for log in logs.glob("*/*.log"):
        with contextlib.suppress(OSError), log.open("rb") as file:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda f=file: f.read(1 << 20), b""))
    return total


def run_part_b(
    tmp: Path, agents: int, seconds: float, rate: float, repeats: int
) -> dict[str, list[Streamed]]:
    folder = tmp / "stream"
    folder.mkdir()
    script = folder / "streamer.py"
    script.write_text(STREAMER)
    limit = str(seconds + 120)  # an agent never outlives a stuck benchmark by long
    command = [PYTHON, str(script), str(folder / "ready"), str(folder / "stop"), str(rate), limit]
    command_toml = "[" + ", ".join(f'"{part}"' for part in command) + "]"
    (folder / "plan.md").write_text(plan_b(agents))
    (folder / "pmtui.toml").write_text(CONFIG_B.format(agents=agents, command=command_toml))
    results: dict[str, list[Streamed]] = {"headless": [], "monitor": []}
    for round_ in range(repeats):
        order = ("headless", "monitor") if round_ % 2 == 0 else ("monitor", "headless")
        for way in order:
            figures = stream_once(folder, agents, seconds, rate, ui=way == "monitor")
            results[way].append(figures)
            stage(f"{way}: {figures.cpu_pct:.1f} % of a core, {figures.lines_per_s:.0f} lines/s")
    return results


def report_b(
    results: dict[str, list[Streamed]], agents: int, seconds: float, rate: float, repeats: int
) -> bool:
    print(
        f"(B) {agents} agents streaming Claude stream-json lines at {rate:g} lines/s each"
        f" for {seconds:g} s, {agents} slots"
    )
    print(
        "    pmtui's own CPU (its process, user + system, not its agents) / wall clock,"
        f" % of one core, best of {repeats}:"
    )
    met = True
    verdicts = []
    for way, label in (
        ("headless", "headless (engine only, --no-ui)"),
        ("monitor", f"monitor (in a pty, {TERMINAL[0]}x{TERMINAL[1]})"),
    ):
        best = min(results[way], key=lambda figures: figures.cpu_pct)
        runs = "  ".join(f"{figures.cpu_pct:.1f}" for figures in results[way])
        extra = ""
        if best.terminal_bytes_per_s:
            extra = f", {best.terminal_bytes_per_s / 1024:.0f} KiB/s to the terminal"
        print(
            f"      {label:<34}{best.cpu_pct:6.1f} %   runs: {runs}"
            f"   ({best.lines_per_s:.0f} lines/s read{extra})"
        )
        ok = best.cpu_pct < TARGET_CPU_PCT
        met = met and ok
        verdicts.append(f"{way} {best.cpu_pct:.1f} %: {'MET' if ok else 'NOT MET'}")
    print(f"target: pmtui CPU < {TARGET_CPU_PCT:g} % of one core — {'; '.join(verdicts)}")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=None, help="(A) tasks (default 20; quick 6)")
    parser.add_argument("--slots", type=int, default=5, help="(A) parallel slots (default 5)")
    parser.add_argument("--repeats", type=int, default=None, help="(A) best of (3; quick 1)")
    parser.add_argument("--agents", type=int, default=None, help="(B) agents (default 8)")
    parser.add_argument("--seconds", type=float, default=None, help="(B) seconds (30; quick 3)")
    parser.add_argument("--rate", type=float, default=50.0, help="(B) lines/s per agent (50)")
    parser.add_argument("--b-repeats", type=int, default=None, help="(B) best of (2; quick 1)")
    parser.add_argument("--part", choices=("a", "b", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--gate", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    tasks = args.tasks if args.tasks is not None else (6 if args.quick else TARGET_TASKS)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    agents = args.agents if args.agents is not None else 8
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 30.0)
    b_repeats = args.b_repeats if args.b_repeats is not None else (1 if args.quick else 2)
    if min(tasks, args.slots, repeats, agents, b_repeats) < 1 or seconds <= 0 or args.rate <= 0:
        parser.error("sizes and repeats must be at least 1, --seconds and --rate positive")
    print(f"python {sys.version.split()[0]} · cpus {os.cpu_count()}")
    met = True
    base = temp_base()
    if str(base) != tempfile.gettempdir():
        print(f"(the temp folder is inside a git repository: working in {base} instead)")
    with tempfile.TemporaryDirectory(prefix="pmtui-bench-agents-", dir=base) as tmp:
        if args.part in ("a", "both"):
            missing = [name for name in ("claude", "codex") if agent_program(name) is None]
            if missing:
                print(
                    f"(A) skipped: {' and '.join(missing)} not installed"
                    " (`make test` installs the CLIs into .agents/)"
                )
            else:
                result = run_part_a(Path(tmp), tasks, args.slots, repeats, not args.quick)
                met = report_a(result, tasks, args.slots, repeats) and met
            print()
        if args.part in ("b", "both"):
            streamed = run_part_b(Path(tmp), agents, seconds, args.rate, b_repeats)
            met = report_b(streamed, agents, seconds, args.rate, b_repeats) and met
    return 1 if args.gate and not met else 0


if __name__ == "__main__":
    sys.exit(main())
