"""`qa eval --ablate`: switch each refusal rule, refusal-model feature and answer-picking heuristic off in
turn (qa/decisions.py) and measure what that does on each dataset's tune and test splits.

A unit pays when switching it off makes the test splits worse; one that does not pay on test data goes.
The table is written as ablation.md / ablation.json; evals/README.md keeps the current one.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from qa.decisions import UNITS

# The metrics the table reports, and whether higher is better.
ABLATION_METRICS = (("contains", True), ("refusal_accuracy", True), ("false_refusal", False),
                    ("citation_precision", True), ("contradicted", False))


def _row(run) -> dict[str, float | None]:
    system = run.systems[0]
    return {k: system.metrics[k].score if k in system.metrics else None for k, _ in ABLATION_METRICS}


def run_ablation(options, datasets: Sequence[str], splits: Sequence[str] = ("tune", "test"),
                 units: Sequence[str] | None = None, service=None,
                 log: Callable[[str], None] = print) -> dict:
    """{dataset: {split: {"baseline": metrics, unit: metrics}}} for the configured generator."""
    import qa
    from evals.runner import run_eval

    units = list(units or UNITS)
    if service is None:
        service = qa.open(home=options.home, generator=options.generator, top_k=options.top_k, threads=options.threads)
    generator = options.generator or service.config.generator
    table: dict = {"generator": generator, "units": units, "results": {}}
    for name in datasets:
        for split in splits:
            opts = replace(options, dataset=name, split=split, systems=f"groundqa:{generator}", predictions=None)
            t0 = time.perf_counter()
            base = run_eval(opts, service=service.variant(without=""), progress=False, log=lambda m: None)
            cell = {"baseline": _row(base), "questions": len(base.dataset.examples)}
            for unit in units:
                run = run_eval(opts, service=service.variant(without=unit), progress=False, log=lambda m: None)
                cell[unit] = _row(run)
            table["results"].setdefault(name, {})[split] = cell
            log(f"ablation {name}/{split}: {len(units)} units over {cell['questions']} questions "
                f"in {time.perf_counter() - t0:.0f}s")
    return table


def _delta(off: float | None, base: float | None, higher: bool) -> float | None:
    """How much the unit is worth: baseline minus switched-off, signed so that positive means it helps."""
    if off is None or base is None:
        return None
    return (base - off) if higher else (off - base)


def markdown(table: dict) -> str:
    """Per unit and dataset/split: the gain each metric owes to the unit (positive = the unit helps)."""
    lines = [f"# Ablations ({table['generator']} generator)", "",
             "Each cell: what the unit is worth = baseline minus the run with the unit switched off, signed so "
             "that **positive means the unit helps** (for false_refusal and contradicted, lower is better, so the "
             "sign is flipped). Columns: contains / refusal_accuracy / false_refusal / citation_precision / "
             "contradicted.", ""]
    cols = [(d, s) for d, splits in table["results"].items() for s in splits]
    lines.append("| unit | " + " | ".join(f"{d} {s}" for d, s in cols) + " | verdict |")
    lines.append("|---|" + "---|" * len(cols) + "---|")
    base_cells = []
    for d, s in cols:
        b = table["results"][d][s]["baseline"]
        base_cells.append(" / ".join("–" if b[k] is None else f"{b[k]:.2f}" for k, _ in ABLATION_METRICS))
    lines.append("| *baseline* | " + " | ".join(base_cells) + " | |")
    for unit in table["units"]:
        cells, test_gain = [], 0.0
        for d, s in cols:
            cell = table["results"][d][s]
            b, off = cell["baseline"], cell[unit]
            ds = [_delta(off[k], b[k], hi) for k, hi in ABLATION_METRICS]
            cells.append(" / ".join("·" if v is None or abs(v) < 1e-9 else f"{v:+.2f}" for v in ds))
            if s == "test":
                test_gain += sum(v for v in ds if v is not None)
        verdict = "pays on test" if test_gain > 1e-9 else "hurts on test" if test_gain < -1e-9 else "no effect on test"
        lines.append(f"| {unit} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines) + "\n"


def write(table: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "ablation.json", out / "ablation.md"]
    paths[0].write_text(json.dumps(table, indent=2) + "\n")
    paths[1].write_text(markdown(table))
    return paths
