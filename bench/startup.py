"""Cold start, each in a new process (wall time, median of the runs):

- `qa ask QUESTION --json` against a collection `qa ingest` built, versus the raw floor
  (`bench.floor ask`: the same libraries and models, encode + Chroma query + one llama.cpp answer).
- `qa serve --no-ui` until GET /readyz answers 200 (models loaded by the server's warm-up).
The serve runs also record memory (used by the memory section): RSS when ready, after one /v1/ask,
and the process's peak RSS over its life."""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.error
import urllib.request

from bench.common import APP, Section, log, median, python, rss_mb, run_child, stop_child, free_port
from bench.context import Context


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _post_json(url: str, body: dict, timeout: float = 300) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def serve_once(ctx: Context, question: str, timeout: float = 300) -> dict:
    """Start `qa serve --no-ui`, time it to a 200 from /readyz, ask one question, stop it."""
    home = ctx.cli_home()
    port = free_port()
    args = [python(), str(APP), "serve", "--no-ui", "--host", "127.0.0.1", "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=ctx.child_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    ready = None
    try:
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if _get(f"http://127.0.0.1:{port}/readyz") == 200:
                ready = time.perf_counter() - t0
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        ready_rss, _ = rss_mb(proc.pid)
        asked = _post_json(f"http://127.0.0.1:{port}/v1/ask", {"question": question}) if ready else 0
        after_rss, hwm = rss_mb(proc.pid)
    finally:
        code, peak = stop_child(proc)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if ready is None:
        raise RuntimeError(f"qa serve never answered /readyz (exit {code}): {err[-2000:]}")
    if asked != 200:
        raise RuntimeError(f"POST /v1/ask answered {asked}: {err[-2000:]}")
    peaks = [x for x in (hwm, peak) if not math.isnan(x)]
    return {"ready_s": ready, "ready_rss_mb": ready_rss, "after_ask_rss_mb": after_rss,
            "peak_rss_mb": max(peaks) if peaks else float("nan")}


def run(ctx: Context) -> Section:
    s = Section("cold")
    home = ctx.cli_home()
    question = ctx.corpus.questions[0]
    env = ctx.child_env(home)
    ours, floor, serve = [], [], []
    for r in range(ctx.options.runs):
        log(f"cold start run {r + 1}/{ctx.options.runs}")
        res = run_child([python(), str(APP), "ask", question, "--json"], env)
        if res.returncode != 0:
            raise RuntimeError(f"qa ask failed ({res.returncode}): {res.stderr[-2000:]}")
        ours.append(res.seconds)
        res = run_child([python(), "-m", "bench.floor", "ask", str(home), question], env)
        if res.returncode != 0:
            raise RuntimeError(f"bench.floor ask failed ({res.returncode}): {res.stderr[-2000:]}")
        floor.append(res.seconds)
        ctx.floor_ask_peak_mb = res.peak_rss_mb
        run = serve_once(ctx, question)
        ctx.serve_runs.append(run)
        serve.append(run["ready_s"])
    s.put("ask_cold_s", median(ours), "s", ours)
    s.put("floor_ask_cold_s", median(floor), "s", floor)
    s.put("serve_ready_s", median(serve), "s", serve)
    s.compare("cold qa ask vs raw floor", "ask_cold_s", "floor_ask_cold_s", "lower", against="floor")
    return s
