"""`qa eval` and `qa calibrate`. argv[0] is the command name, as app.py passes it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from evals.splits import SPLIT_CHOICES
from qa.config import GENERATORS
from qa.errors import InvalidInput

USAGE_EXAMPLES = """examples:
  qa eval --dataset seed --systems bm25,dense,hybrid,groundqa:extractive,groundqa:local,llamaindex
  qa eval --dataset clapnq --generator extractive            # ClapNQ test split: the fixed 50+50 dev subset
  qa eval --dataset musique --systems bm25,hybrid --limit 20  # 20 multi-hop questions of the test split
  qa eval --dataset docs --split tune                         # Starlette docs questions you may tune on
  qa eval --dataset conversations --generator extractive     # follow-ups in context vs asked standalone (test split)
  qa eval --dataset my.jsonl --docs my-docs/ --limit 20
  qa eval --dataset seed --predictions other-system.jsonl --systems ""
  qa eval --compare runs/A runs/B
"""


def eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa eval", description="Run the evaluation suite and write a report.",
                                epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="seed",
                   help="seed, clapnq, musique, compare, docs, claims, conversations or the path of a JSONL file (default "
                        "seed); the built-in ones live in evals/data")
    p.add_argument("--docs", help="documents for a JSONL dataset (file or folder); for clapnq the folder with the "
                                  "dev files (default: $GROUNDQA_CLAPNQ or evals/data/clapnq)")
    p.add_argument("--split", choices=SPLIT_CHOICES,
                   help="tune (may be fitted against), test (held out, report only) or all. Default: test for "
                        "clapnq, musique and docs; all for seed and for a JSONL file (a file without \"split\" "
                        "fields has every question in both splits); all with --all")
    p.add_argument("--limit", type=int, help="number of questions of the split (half answerable, half unanswerable)")
    p.add_argument("--all", action="store_true",
                   help="every question of the split, no --limit (and --split all unless --split is given)")
    p.add_argument("--generator", help=f"generator for `groundqa`: {', '.join(GENERATORS)} (default: configured)")
    p.add_argument("--systems", default="bm25,dense,hybrid,groundqa",
                   help="comma-separated: bm25, dense, hybrid, groundqa, groundqa:GENERATOR, llamaindex (default bm25,dense,hybrid,groundqa)")
    p.add_argument("--predictions", help="also score answers from this JSONL file (the answer contract plus an id)")
    p.add_argument("--out", help="output folder (default runs/DATASET-TIMESTAMP)")
    p.add_argument("--top-k", type=int, help="passages per question (default: configured, 4)")
    p.add_argument("--home", help="groundqa home holding the eval collections (default $GROUNDQA_HOME)")
    p.add_argument("--threads", type=int, help="CPU threads for the models (default 2)")
    p.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="print what changed between two runs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--without", default="", metavar="NAME[,NAME]",
                   help="switch refusal rules, refusal-model features or answer heuristics off by name "
                        "(see --list-units)")
    p.add_argument("--ablate", action="store_true",
                   help="switch each unit off in turn on the tune and test splits of --datasets and write the "
                        "ablation table (ablation.md/.json) to --out")
    p.add_argument("--datasets", default="seed,clapnq,docs,musique",
                   help="with --ablate: the datasets (default seed,clapnq,docs,musique)")
    p.add_argument("--units", help="with --ablate: only these units (default: all)")
    p.add_argument("--list-units", action="store_true", help="list the named units that --without accepts")
    return p


def run_eval_command(argv: Sequence[str]) -> int:
    from evals.report import compare, write_run
    from evals.runner import EvalOptions, run_eval

    args = eval_parser().parse_args(list(argv))
    if args.compare:
        print(compare(Path(args.compare[0]), Path(args.compare[1])), end="")
        return 0
    if args.list_units:
        from qa.decisions import describe

        print(describe())
        return 0
    if args.ablate:
        from evals import ablate
        from evals.runner import EvalOptions

        opts = EvalOptions(limit=args.limit, generator=args.generator or "extractive", top_k=args.top_k,
                           home=args.home, threads=args.threads)
        splits = ("tune", "test") if args.split in (None, "all") else (args.split,)
        units = [u.strip() for u in args.units.split(",")] if args.units else None
        table = ablate.run_ablation(opts, [d.strip() for d in args.datasets.split(",") if d.strip()], splits, units,
                                    log=lambda m: print(m, file=sys.stderr, flush=True))
        out = Path(args.out) if args.out else Path("runs") / f"ablation-{time.strftime('%Y%m%d-%H%M%S')}"
        paths = ablate.write(table, out)
        print(ablate.markdown(table))
        print(f"wrote {', '.join(str(p) for p in paths)}")
        return 0
    if args.dataset == "claims":  # the verifier benchmark (evals/claims.py): --split, --out, --home, --threads, --quiet
        from evals.claims import claims_command

        return claims_command(args)
    if args.dataset == "conversations":  # turn by turn in context (evals/conversations.py): --split, --generator, --top-k
        from evals.conversations import conversations_command

        return conversations_command(args)
    if args.limit is not None and args.limit < 1:
        raise InvalidInput(f"--limit must be a positive number of questions, got {args.limit}.")
    options = EvalOptions(dataset=args.dataset, docs=args.docs, limit=args.limit, all=args.all, split=args.split,
                          generator=args.generator, systems=args.systems, predictions=args.predictions,
                          top_k=args.top_k, home=args.home, threads=args.threads, without=args.without)
    run = run_eval(options, progress=not args.quiet)
    out = Path(args.out) if args.out else Path("runs") / f"{run.dataset.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    paths = write_run(run, out)
    from evals.report import metrics_json

    m = metrics_json(run)
    keys = {"hit@k": f"hit@{run.top_k}", "mrr@10": "mrr@10", "f1": "f1", "contains": "contains",
            "citation_recall": "cite_rec", "citation_precision": "cite_prec", "quote_exact": "quote_ex",
            "contradicted": "contra", "refusal_accuracy": "refuse_ok", "false_refusal": "false_ref",
            "latency_total_p50": "p50_ms"}
    print(f"{'system':<22}" + "".join(f"{h:>10}" for h in keys.values()))
    for name, vals in m["metrics"].items():
        print(f"{name:<22}" + "".join(f"{'-' if vals.get(k) is None else format(vals[k], '.3f'):>10}" for k in keys))
    print(f"\nrun took {run.seconds:.1f}s; wrote {', '.join(str(p) for p in paths)}")
    return 0


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] not in ("eval", "calibrate"):
        raise InvalidInput("Use `qa eval ...` or `qa calibrate ...`.")
    if argv[0] == "calibrate":
        from evals.calibrate import main as calibrate_main

        return calibrate_main(argv[1:])
    return run_eval_command(argv[1:])


if __name__ == "__main__":  # python -m evals.cli eval ...
    sys.exit(main(sys.argv[1:]))
