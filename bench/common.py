"""Shared pieces: sections and comparisons, statistics, timing, subprocesses and their memory."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"


# --- results ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """ratio = metrics[ours] / metrics[reference]; `better` says which way is good; `target` is
    (operator, bound) on the ratio, e.g. (">=", 0.9), or None."""

    name: str
    ours: str
    reference: str
    better: str  # "higher" | "lower"
    target: tuple[str, float] | None = None
    label: str = ""
    against: str = "raw"


@dataclass
class Section:
    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def put(self, name: str, value: float | None, unit: str = "", samples: Sequence[float] | None = None) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        self.metrics[name] = round(float(value), 4)
        if unit:
            self.units[name] = unit
        if samples is not None:
            self.samples[name] = [round(float(s), 4) for s in samples]

    def compare(self, name: str, ours: str, reference: str, better: str, target: tuple[str, float] | None = None,
                label: str = "", against: str = "raw") -> None:
        self.comparisons.append(Comparison(name, ours, reference, better, target, label or name, against))


# --- statistics -------------------------------------------------------------------------------------
def median(xs: Sequence[float]) -> float:
    return percentile(xs, 50)


def percentile(xs: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no samples."""
    xs = sorted(float(x) for x in xs)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class Stopwatch:
    def __enter__(self) -> "Stopwatch":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


# --- subprocesses -----------------------------------------------------------------------------------
def child_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment for a `qa` child: no GROUNDQA_* from the caller (defaults are what we measure),
    offline, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDQA_")}
    env.update({"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False",
                "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"})
    if home is not None:
        env["GROUNDQA_HOME"] = str(home)
    env.update(extra)
    return env


@dataclass
class ChildResult:
    returncode: int
    seconds: float  # wall time from start to exit
    peak_rss_mb: float  # the child's VmHWM, polled while it runs
    stdout: str
    stderr: str


def run_child(args: Sequence[str], env: dict[str, str], timeout: float = 900, cwd: Path = ROOT) -> ChildResult:
    """Run a command to completion; its exact peak RSS comes from wait4's rusage."""
    out_path, err_path = _capture_files()
    with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(args), env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        code, rss = wait_with_rusage(proc, timeout)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for p in (out_path, err_path):
        p.unlink(missing_ok=True)
    return ChildResult(code, seconds, rss, stdout, stderr)


def _capture_files() -> tuple[Path, Path]:
    import tempfile

    fd1, a = tempfile.mkstemp(prefix="bench-out-")
    fd2, b = tempfile.mkstemp(prefix="bench-err-")
    os.close(fd1)
    os.close(fd2)
    return Path(a), Path(b)


def wait_with_rusage(proc: subprocess.Popen, timeout: float) -> tuple[int, float]:
    """Wait for `proc` (killing it after `timeout` s); returns (exit code, peak RSS in MB).

    The peak is the largest VmHWM read from /proc while the child runs (every 20 ms; VmHWM is the
    kernel's own high-water mark, so only growth in the last 20 ms could be missed). wait4's ru_maxrss
    is no use here: a child forked from this (large) process inherits the parent's RSS as its maximum."""
    deadline = time.monotonic() + timeout
    peak = float("nan")
    while True:
        _, hwm = rss_mb(proc.pid)
        if not math.isnan(hwm):
            peak = hwm if math.isnan(peak) else max(peak, hwm)
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status = os.waitpid(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, peak


def stop_child(proc: subprocess.Popen, timeout: float = 30) -> tuple[int, float]:
    """Ask a server to shut down (SIGINT, as Ctrl-C does), then reap it; returns (exit code, peak RSS MB)."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGINT)
        except ProcessLookupError:
            pass
    if proc.returncode is not None:  # already reaped by poll(): the rusage is gone
        return proc.returncode, float("nan")
    return wait_with_rusage(proc, timeout)


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a running process, in MB, from /proc (NaN if unavailable)."""
    values = {"VmRSS": float("nan"), "VmHWM": float("nan")}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return values["VmRSS"], values["VmHWM"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python() -> str:
    return sys.executable


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)
