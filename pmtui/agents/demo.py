"""The demo agent: a real process that pretends to do a task (`python -m pmtui.agents.demo`).

It works for a while, prints `::progress::<percent> <message>` lines and log lines on stdout
(docs/design.md §5), and exits 0 — unless told to misbehave, for tests and the live demo.
Messages and timing jitter depend only on the task id, never on the clock.

Environment (all optional; an empty value means the default):

- Set by the engine: `PMTUI_TASK_ID` (named in every log line), `PMTUI_ATTEMPT` (1-based),
  `PMTUI_PLAN`, `PMTUI_WORKDIR`, `PMTUI_RUN_ID`.
- `PMTUI_DEMO_SECONDS`: how long to work, in seconds or a duration (`2.5`, `90s`); default 2.
- `PMTUI_DEMO_SPEED`: work this many times faster (`pmtui demo --speed 10`); default 1.
- `PMTUI_DEMO_FAIL`: `never` (default), `always`, `first` (fail attempt 1 only) or `until:N`
  (fail while the attempt is at most N). A failing attempt stops in the test phase with an
  error line on stderr and exit code `PMTUI_DEMO_EXIT` (1 to 255; default 1).
- `PMTUI_DEMO_HANG=1`: stop reporting halfway and never finish (SIGTERM still ends it).
- `PMTUI_DEMO_MEMORY`: a size (`400MB`) to allocate and keep resident while working.
- `PMTUI_DEMO_RATE_LIMIT`: `never` (default), `first` or `always`: on those attempts print
  `HTTP 429 rate limit exceeded` on stderr at once and exit 1.
- `PMTUI_DEMO_SPAWN=N`: start N `sleep` processes in the agent's process group that are never
  waited for, so they outlive the agent unless the group is killed (their pids are logged;
  their stdio is /dev/null, so they do not keep the agent's output pipe open).
- `PMTUI_DEMO_LINES=N`: print N extra log lines as fast as possible during the test phase.

Arguments, if any (e.g. `{prompt}`), are the task's text: the first line is echoed as `task: …`.
SIGTERM prints `stopped` and exits 143 (SIGINT: 130). A bad value exits 2 with one line on
stderr naming the variable.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from pmtui.config.units import UnitError, format_size, parse_duration, parse_size

EXIT_BAD_INPUT = 2
STEPS = 10
_ALWAYS = sys.maxsize
_CHUNK = 1 << 20

# (first percent of the phase, progress messages, log line templates)
_PHASES: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        0,
        ("Reading the code", "Reading {file}", "Mapping the modules"),
        ("read {file} ({n} lines)", "indexed {n} symbols", "found {m} call sites of {func}()"),
    ),
    (
        15,
        ("Planning changes", "Planning the change to {file}", "Weighing two approaches"),
        ("plan: change {file}", "plan: {m} files to touch, {m} tests to add", "chose {func}()"),
    ),
    (
        30,
        ("Implementing", "Editing {file}", "Implementing {func}()"),
        ("edited {file} (+{n} -{m})", "added {func}() to {file}", "renamed a helper in {file}"),
    ),
    (
        70,
        ("Running tests", "Running the tests of {file}", "Checking types and lint"),
        ("pytest -q {test}: {n} passed", "ruff check {file}: no issues", "mypy: no issues"),
    ),
    (
        90,
        ("Writing summary", "Summarising the change", "Writing the commit message"),
        ("summary: {m} files changed", "wrote {n} lines of notes", "listed {m} follow-ups"),
    ),
)
_FILES = (
    "src/app.py",
    "src/auth/session.py",
    "src/api/routes.py",
    "src/models/user.py",
    "src/db/migrations.py",
    "src/config.py",
    "src/utils/retry.py",
)
_TESTS = ("tests/test_auth.py", "tests/test_api.py", "tests/test_models.py", "tests/test_db.py")
_FUNCS = ("load_session", "refresh_token", "parse_config", "retry_later", "render_page")

Getter = Callable[[str], str]


class BadEnv(Exception):
    """An environment variable with a value the demo agent cannot use."""


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived; `code` is the exit code (128 + signal number)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Settings:
    """What one run of the demo agent does, read from the environment and argv."""

    task_id: str = "demo"
    attempt: int = 1
    plan: str = ""
    workdir: str = ""
    run_id: str = ""
    seconds: float = 2.0
    fail_until: int = 0
    exit_code: int = 1
    hang: bool = False
    memory: int = 0
    rate_limit_until: int = 0
    spawn: int = 0
    lines: int = 0
    prompt: str = ""


def read_settings(environ: Mapping[str, str], argv: Sequence[str]) -> Settings:
    """Read the settings from the environment and arguments.

    Raises:
        BadEnv: A variable has a value that is not valid; the message names it.
    """

    def get(name: str) -> str:
        return environ.get(name, "").strip()

    seconds = 2.0
    if text := get("PMTUI_DEMO_SECONDS"):
        try:
            seconds = parse_duration(text)
        except UnitError:
            raise BadEnv(_bad("PMTUI_DEMO_SECONDS", text, "a duration", "2.5")) from None
    if text := get("PMTUI_DEMO_SPEED"):
        try:
            speed = float(text)
        except ValueError:
            speed = 0.0
        if not 0 < speed < float("inf"):
            raise BadEnv(_bad("PMTUI_DEMO_SPEED", text, "a number above 0", "10"))
        seconds /= speed
    memory = 0
    if text := get("PMTUI_DEMO_MEMORY"):
        try:
            memory = parse_size(text)
        except UnitError:
            raise BadEnv(_bad("PMTUI_DEMO_MEMORY", text, "a size", "400MB")) from None
    hang = get("PMTUI_DEMO_HANG").lower()
    if hang not in ("", "0", "1", "true", "false", "yes", "no"):
        raise BadEnv(_bad("PMTUI_DEMO_HANG", hang, "1 or 0", "1"))
    prompt = next((line.strip() for line in " ".join(argv).splitlines() if line.strip()), "")
    return Settings(
        task_id=get("PMTUI_TASK_ID") or "demo",
        attempt=_whole(get, "PMTUI_ATTEMPT", 1, 2, minimum=1),
        plan=get("PMTUI_PLAN"),
        workdir=get("PMTUI_WORKDIR"),
        run_id=get("PMTUI_RUN_ID"),
        seconds=seconds,
        fail_until=_attempts(get, "PMTUI_DEMO_FAIL", allow_until=True),
        exit_code=_whole(get, "PMTUI_DEMO_EXIT", 1, 3, minimum=1, maximum=255),
        hang=hang in ("1", "true", "yes"),
        memory=memory,
        rate_limit_until=_attempts(get, "PMTUI_DEMO_RATE_LIMIT", allow_until=False),
        spawn=_whole(get, "PMTUI_DEMO_SPAWN", 0, 2),
        lines=_whole(get, "PMTUI_DEMO_LINES", 0, 10000),
        prompt=prompt[:200],
    )


def _bad(name: str, value: str, kind: str, example: str) -> str:
    return f"{name}={value!r} is not {kind} (e.g. {name}={example})"


def _whole(
    get: Getter, name: str, default: int, example: int, *, minimum: int = 0, maximum: int = 0
) -> int:
    """A whole-number variable within its bounds (`maximum` 0: no upper bound)."""
    text = get(name)
    if not text:
        return default
    number = int(text) if text.isascii() and text.isdigit() and len(text) < 19 else -1
    if number < minimum or (maximum and number > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum else f"of at least {minimum}"
        raise BadEnv(_bad(name, text, f"a whole number {bounds}", str(example)))
    return number


def _attempts(get: Getter, name: str, *, allow_until: bool) -> int:
    """The last attempt a `never | always | first | until:N` variable applies to (0 = none)."""
    text = get(name).lower()
    fixed = {"": 0, "never": 0, "first": 1, "always": _ALWAYS}
    if text in fixed:
        return fixed[text]
    count = text.removeprefix("until:")
    if allow_until and count != text and count.isascii() and count.isdigit() and len(count) < 19:
        return int(count)
    kinds = "never, always, first or until:N" if allow_until else "never, always or first"
    raise BadEnv(_bad(name, text, kinds, "first"))


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGINT into `Stopped`; a second signal while stopping is ignored."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped(128 + signum)


class Agent:
    """One run: deterministic choices from the task id, real time from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rng = random.Random(f"pmtui-demo:{settings.task_id}")
        self.tag = f"[{settings.task_id}]"

    def log(self, text: str) -> None:
        """Print one log line naming the task."""
        print(f"{self.tag} {text}", flush=True)

    def fill(self, template: str) -> str:
        """A template with deterministic file, test, function and count choices."""
        rng = self.rng
        return template.format(
            file=rng.choice(_FILES),
            test=rng.choice(_TESTS),
            func=rng.choice(_FUNCS),
            n=rng.randint(12, 480),
            m=rng.randint(2, 9),
        )

    def run(self) -> int:
        """Do the pretend work; return the exit code."""
        s = self.settings
        start = time.monotonic()
        if s.prompt:
            print(f"task: {s.prompt}", flush=True)
        where = f" in {s.workdir}" if s.workdir else ""
        run = f" (run {s.run_id})" if s.run_id else ""
        self.log(f"starting attempt {s.attempt}{where}{run}")
        if s.plan:
            self.log(f"plan: {s.plan}")
        print(f"::progress::0 {self.fill(_PHASES[0][1][0])}", flush=True)
        if s.attempt <= s.rate_limit_until:
            print(f"{self.tag} HTTP 429 rate limit exceeded (attempt {s.attempt})", file=sys.stderr)
            return 1
        for _ in range(s.spawn):
            self.log(f"started helper process sleep (pid {_spawn_sleep()})")
        ballast = _allocate(s.memory)
        if s.memory:
            self.log(f"allocated {format_size(s.memory)} of memory for the code index (resident)")
        weights = [1 + self.rng.uniform(-0.4, 0.4) for _ in range(STEPS)]
        total = sum(weights)
        elapsed = 0.0
        percent = 0
        flooded = False
        for weight in weights:
            phase = _phase(percent)
            templates = _PHASES[phase][2]
            step_start = start + s.seconds * elapsed / total
            elapsed += weight
            step_end = start + s.seconds * elapsed / total
            _sleep_until((step_start + step_end) / 2)
            self.log(self.fill(self.rng.choice(templates)))
            if phase >= 3 and not flooded:  # the test phase (a long step may skip past 3)
                flooded = True
                self.flood()
                if s.attempt <= s.fail_until:
                    return self.fail()
            _sleep_until(step_end)
            percent = min(100, round(100 * elapsed / total))
            done = percent >= 100
            message = "Done" if done else self.fill(self.rng.choice(_PHASES[_phase(percent)][1]))
            print(f"::progress::{100 if done else percent} {message}", flush=True)
            if s.hang and percent >= 50:
                self.log("waiting for the build server to answer…")
                while True:
                    time.sleep(3600)
        if ballast:
            self.log(f"released {format_size(len(ballast))} of memory")
        self.log(f"done: {self.fill('{m} files changed, {n} tests passed')}")
        return 0

    def flood(self) -> None:
        """Print the extra `PMTUI_DEMO_LINES` lines, in large writes."""
        count = self.settings.lines
        test = self.rng.choice(_TESTS)
        for first in range(0, count, 1000):
            last = min(count, first + 1000)
            batch = (f"{self.tag} {test}::test_case_{i:06d} PASSED\n" for i in range(first, last))
            sys.stdout.write("".join(batch))
            sys.stdout.flush()

    def fail(self) -> int:
        """Report a failed test run on stderr; return the configured exit code."""
        s = self.settings
        test = self.rng.choice(_TESTS)
        self.log(f"pytest -q {test}: 2 failed")
        print(f"{self.tag} error: 2 tests failed in {test} (attempt {s.attempt})", file=sys.stderr)
        return s.exit_code


def _phase(percent: int) -> int:
    """The index of the phase of work a percentage falls in."""
    return max(i for i, phase in enumerate(_PHASES) if phase[0] <= percent)


def _sleep_until(deadline: float) -> None:
    """Sleep until the monotonic clock reaches `deadline` (in bounded naps: any float works)."""
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, 3600.0))


def _allocate(size: int) -> bytearray:
    """`size` bytes of memory, every page written so that it is really resident."""
    ballast = bytearray(size)
    block = b"\xa5" * _CHUNK
    view = memoryview(ballast)
    for offset in range(0, size, _CHUNK):
        end = min(size, offset + _CHUNK)
        view[offset:end] = block[: end - offset]
    view.release()
    return ballast


def _spawn_sleep() -> int:
    """Start a `sleep` in this process group, never waited for; return its pid."""
    import subprocess

    devnull = subprocess.DEVNULL
    child = subprocess.Popen(["sleep", "3600"], stdin=devnull, stdout=devnull, stderr=devnull)
    return child.pid


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the demo agent; return its exit code."""
    environ = os.environ if environ is None else environ
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        settings = read_settings(environ, sys.argv[1:] if argv is None else argv)
        return Agent(settings).run()
    except BadEnv as error:
        print(f"pmtui.agents.demo: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Stopped as stop:
        print(f"[{environ.get('PMTUI_TASK_ID') or 'demo'}] stopped", flush=True)
        return stop.code
    except MemoryError:
        print("pmtui.agents.demo: error: out of memory", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away: stay quiet (no traceback at exit) and report SIGPIPE's code.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
