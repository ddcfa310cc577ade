"""python -m bench [--quick] [--out bench/results.json] [--repeat N] [--only ingest,query,...,docs] [--only scale]

Prints a table and writes results.json plus a PNG chart next to it (same name, .png). Exits 1 if a
section failed (the others still run and are written); it never judges a time."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

for _var in [v for v in os.environ if v.startswith("GROUNDQA_")]:
    del os.environ[_var]  # the benchmark measures the defaults (plus --threads), whatever the shell has set
os.environ.update({"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False",
                   "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"})

from bench import report  # noqa: E402
from bench.common import ROOT, log  # noqa: E402
from bench.context import Context, Options, cpu_threads_note  # noqa: E402
from bench.machine import describe, git_state  # noqa: E402

SECTIONS = ("ingest", "query", "generate", "cold", "memory", "linguistics", "docs")  # the default run
OPT_IN = ("scale",)  # only with --only: minutes to an hour, not in CI's quick run
ALL = SECTIONS + OPT_IN
DEFAULT_OUT = ROOT / "bench" / "results.json"
DEFAULT_SCALE_OUT = ROOT / "bench" / "results-scale.json"  # --only scale: its own results file and curve


def _module(name: str):
    import importlib

    return importlib.import_module({"generate": "bench.generation", "cold": "bench.startup"}.get(name, f"bench.{name}"))


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--quick", action="store_true",
                   help="tiny input, one run, few tokens: checks that the harness works (CI); the numbers mean little")
    p.add_argument("--out", type=Path, help="results file (default bench/results.json; with --quick a temp file)")
    p.add_argument("--repeat", type=int, help="runs of ingest and cold start (default 3, quick 1)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections from {','.join(ALL)} (default: all but {','.join(OPT_IN)})")
    p.add_argument("--threads", type=int, default=2, help="torch and llama.cpp threads on every side (default 2)")
    p.add_argument("--keep", action="store_true", help="keep the temporary homes and stores (printed at the end)")
    p.add_argument("--sizes", default="", help="scale: chunks per point, e.g. 1000,10000 (default 1000,10000,100000)")
    p.add_argument("--modes", default="", help="scale: embedded,server (default both)")
    args = p.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    bad = [s for s in only if s not in ALL]
    if bad or not only:
        p.error(f"--only takes sections from {', '.join(ALL)}; got {args.only!r}")
    try:
        args.sizes = tuple(int(x) for x in args.sizes.split(",") if x.strip())
    except ValueError:
        p.error(f"--sizes takes chunk counts separated by commas, e.g. 1000,10000; got {args.sizes!r}")
    args.modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if any(n < 1 for n in args.sizes) or any(m not in ("embedded", "server") for m in args.modes):
        p.error("--sizes takes positive counts; --modes takes embedded and/or server")
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.only = only
    if args.out is None:
        default = DEFAULT_SCALE_OUT if only == ("scale",) else DEFAULT_OUT
        args.out = Path(tempfile.gettempdir()) / f"groundqa-bench-quick{'-scale' if only == ('scale',) else ''}.json" \
            if args.quick else default
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    options = Options(quick=args.quick, repeat=args.repeat, threads=args.threads, only=args.only, keep=args.keep,
                      scale_sizes=args.sizes, scale_modes=args.modes)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = describe(args.threads)
    ctx = Context(options)
    sections, errors = [], {}
    t0 = time.perf_counter()
    try:
        for name in ALL:
            if name not in args.only:
                continue
            log(f"== {name}")
            t = time.perf_counter()
            try:
                sections.append(_module(name).run(ctx))
            except Exception:
                errors[name] = traceback.format_exc()
                log(f"{name} failed:\n{errors[name]}")
            log(f"{name} took {time.perf_counter() - t:.1f} s")
        params = {"threads": args.threads, "runs": options.runs, "queries": options.queries, "asks": options.asks,
                  "max_tokens": options.max_tokens, "sections": list(args.only),
                  "corpus": ctx._corpus.name if ctx._corpus else None, "seconds": round(time.perf_counter() - t0, 1),
                  "note": cpu_threads_note(args.threads)}
    finally:
        ctx.cleanup()
    skipped = {s: "not selected with --only" for s in SECTIONS if s not in args.only}
    skipped.update({s: "opt-in: --only " + s for s in OPT_IN if s not in args.only})
    doc = report.build(sections, machine=machine, when=started, git=git_state(ROOT), quick=args.quick,
                       params=params, errors=errors, skipped=skipped)
    png = report.write(doc, args.out)
    print(report.table(doc))
    print(f"\nwrote {args.out} and {png}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
