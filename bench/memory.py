"""Peak resident memory (RSS) of child processes, exact from wait4's rusage:

- `qa serve --no-ui` with the local model loaded (after /readyz and one /v1/ask), against the raw
  floor that loads the same two models and answers once (`bench.floor ask`).
- `qa ingest` of the corpus into a fresh home, against the raw floor ingest (`bench.floor ingest`)."""

from __future__ import annotations

from bench.common import Section, median, python, run_child
from bench.context import Context
from bench.startup import serve_once


def run(ctx: Context) -> Section:
    s = Section("memory")
    home = ctx.cli_home()  # runs `qa ingest` in a child if no section did yet
    env = ctx.child_env(home)
    question = ctx.corpus.questions[0]
    if not ctx.serve_runs:
        ctx.serve_runs.append(serve_once(ctx, question))
    runs = ctx.serve_runs
    s.put("serve_peak_rss_mb", median([r["peak_rss_mb"] for r in runs]), "MB")
    s.put("serve_ready_rss_mb", median([r["ready_rss_mb"] for r in runs]), "MB")
    s.put("serve_after_ask_rss_mb", median([r["after_ask_rss_mb"] for r in runs]), "MB")
    floor_ask = ctx.floor_ask_peak_mb
    if floor_ask is None:
        res = run_child([python(), "-m", "bench.floor", "ask", str(home), question], env)
        if res.returncode != 0:
            raise RuntimeError(f"bench.floor ask failed ({res.returncode}): {res.stderr[-2000:]}")
        floor_ask = res.peak_rss_mb
    s.put("floor_ask_peak_rss_mb", floor_ask, "MB")
    s.compare("serve peak RSS vs raw floor", "serve_peak_rss_mb", "floor_ask_peak_rss_mb", "lower", against="floor")

    s.put("ingest_peak_rss_mb", ctx.cli_ingest.peak_rss_mb, "MB")
    res = run_child([python(), "-m", "bench.floor", "ingest", str(ctx.corpus.folder), str(ctx.new_dir("floor"))], env)
    if res.returncode != 0:
        raise RuntimeError(f"bench.floor ingest failed ({res.returncode}): {res.stderr[-2000:]}")
    s.put("floor_ingest_peak_rss_mb", res.peak_rss_mb, "MB")
    s.compare("ingest peak RSS vs raw floor", "ingest_peak_rss_mb", "floor_ingest_peak_rss_mb", "lower", against="floor")
    return s
