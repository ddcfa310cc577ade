"""Run outputs: metrics.json, results.jsonl, report.md and PNG plots; and the comparison of two runs."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from evals.metrics import STAGES
from evals.runner import EvalRun, SystemRun
from qa.errors import InvalidInput, PathNotFound

# Metric order in tables, and whether higher is better.
QUALITY = [
    ("hit@1", True), ("hit@k", True), ("mrr@10", True), ("f1", True), ("recall", True), ("contains", True),
    ("short_answer_exact", True), ("short_answer_correct", True), ("contradicted", False),
    ("citation_recall", True), ("citation_precision", True), ("quote_exact", True),
    ("refusal_accuracy", True), ("false_refusal", False), ("markup_free", True), ("sentences_are_quotes", True),
    ("self_citation_recall", True), ("self_citation_precision", True), ("self_grounding", True),
]
EXPLAIN = {
    "hit@1": "gold passage (ClapNQ) or an evidence sentence (seed) is the first passage retrieved",
    "hit@k": "... is among the top-k passages retrieved",
    "mrr@10": "mean reciprocal rank of the first relevant passage within 10 (groundqa/llamaindex only see top-k)",
    "f1": "token F1 of the answer against the best reference answer (answerable questions; a refusal scores 0)",
    "recall": "share of the reference answer's tokens found in the answer",
    "contains": "an accepted short answer appears verbatim (normalised) in the answer",
    "short_answer_exact": "the system's short_answer equals a reference answer (or holds it, adding at most 3 words)",
    "short_answer_correct": "answerable questions whose short_answer matches a reference (missing or refused: 0)",
    "contradicted": "share of answered answerable questions with a sentence the claims check finds contradicted "
                    "by the gold evidence or its own quotes (role, object, negation, number, entity; lower is better)",
    "citation_recall": "share of answered answerable questions with a citation overlapping the dataset's evidence",
    "citation_precision": "share of citations whose quote overlaps the dataset's evidence (independent of the pipeline)",
    "quote_exact": "share of citation quotes equal to document[start:end]; must be 1.0",
    "refusal_accuracy": "share of unanswerable questions refused",
    "false_refusal": "share of answerable questions refused (lower is better)",
    "markup_free": "share of answers with no Markdown/HTML syntax in their sentences",
    "sentences_are_quotes": "extractive answers whose every sentence is exactly the one quote it cites",
    "self_citation_recall": "SELF-JUDGED: answer sentences supported by their quotes per the pipeline's own scorer",
    "self_citation_precision": "SELF-JUDGED: citations supporting their sentence per the pipeline's own scorer",
    "self_grounding": "SELF-JUDGED: answer sentences the pipeline's own scorer finds in the retrieved passages",
}


def _key(name: str, top_k: int) -> str:
    return "hit@k" if name == f"hit@{top_k}" and top_k != 1 else name


def system_table(s: SystemRun, top_k: int) -> dict[str, float | None]:
    return {_key(name, top_k): m.score for name, m in s.metrics.items()}


def metrics_json(run: EvalRun) -> dict:
    return {
        "dataset": run.dataset.name,
        "questions": len(run.dataset.examples),
        "answerable": sum(e.answerable for e in run.dataset.examples),
        "documents": len(run.dataset.documents),
        "collection": run.collection,
        "top_k": run.top_k,
        "started": run.started,
        "calibration": run.calibration,
        "support_threshold": run.support_threshold,
        "options": asdict(run.options),
        "seconds": {"index": round(run.index_seconds, 2), "total": round(run.seconds, 2),
                    **{s.name: round(s.seconds, 2) for s in run.systems}},
        "errors": {s.name: sum(1 for p in s.predictions if p.error) for s in run.systems},
        "metrics": {s.name: {k: (None if v is None else round(v, 4)) for k, v in system_table(s, run.top_k).items()}
                    for s in run.systems},
    }


def result_rows(run: EvalRun):
    by_id = {e.id: e for e in run.dataset.examples}
    for s in run.systems:
        for p in s.predictions:
            ex = by_id[p.example_id]
            scores = {_key(name, run.top_k): m.per_question.get(p.example_id) for name, m in s.metrics.items()
                      if not name.startswith("latency_")}
            yield {
                "system": s.name, "id": ex.id, "question": ex.question, "answerable": ex.answerable,
                "references": ex.answers, "answer": p.answer, "passages": p.passages,
                "timings_ms": {k: round(v, 2) for k, v in p.timings_ms.items()}, "error": p.error, "scores": scores,
            }


def badness(row: dict) -> float:
    """How bad a failure is, for picking the worst: answering an unanswerable question or refusing an
    answerable one is worst; then wrong answers, then unsupported citations."""
    sc, a = row["scores"], row["answer"]
    if a is None:
        return 2.0 if row["error"] else 0.0
    refused = bool(a.get("refused"))
    if not row["answerable"]:
        return 0.0 if refused else 1.5 + float(a.get("answerability") or 0.0) * 0.1
    if refused:
        return 1.4
    if sc.get("contradicted"):
        return 1.6  # answered, and its own sources say otherwise: the worst kind of failure
    wrong = 1.0 - max(sc.get("contains") or 0.0, sc.get("recall") or 0.0)
    unsupported = 1.0 - (sc.get("citation_recall") if sc.get("citation_recall") is not None else 1.0)
    return 0.8 * wrong + 0.4 * unsupported


def worst_failures(rows: list[dict], n: int = 10) -> list[dict]:
    """The n worst failures, taken from each answering system in turn so one system cannot fill the list."""
    per_system: dict[str, list[dict]] = {}
    for r in sorted(rows, key=badness, reverse=True):
        if badness(r) > 0:
            per_system.setdefault(r["system"], []).append(r)
    out: list[dict] = []
    while len(out) < n and any(per_system.values()):
        for queue in per_system.values():
            if queue and len(out) < n:
                out.append(queue.pop(0))
    return sorted(out, key=badness, reverse=True)


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def markdown(run: EvalRun, rows: list[dict]) -> str:
    m = metrics_json(run)
    names = [s.name for s in run.systems]
    lines = [
        f"# Eval report: {run.dataset.name}",
        "",
        f"{m['questions']} questions ({m['answerable']} answerable, {m['questions'] - m['answerable']} unanswerable) "
        f"over {m['documents']} documents in collection `{run.collection}`; top-k {run.top_k}; "
        f"refusal calibration `{run.calibration}`, support threshold {run.support_threshold}. Started {run.started}; "
        f"indexing took {run.index_seconds:.1f}s, the whole run {run.seconds:.1f}s.",
        "",
        "## Quality",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, _ in QUALITY:
        vals = [m["metrics"][n].get(key) for n in names]
        if any(v is not None for v in vals):
            label = key if key != "hit@k" else f"hit@{run.top_k}"
            lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in vals) + " |")
    lines += ["", "## Latency (ms)", "", "| stage | " + " | ".join(f"{n} p50 | {n} p95" for n in names) + " |",
              "|---|" + "---|---|" * len(names)]
    for stage in STAGES:
        vals = [(m["metrics"][n].get(f"latency_{stage}_p50"), m["metrics"][n].get(f"latency_{stage}_p95")) for n in names]
        if any(a is not None for a, _ in vals):
            lines.append(f"| {stage} | " + " | ".join(f"{_fmt0(a)} | {_fmt0(b)}" for a, b in vals) + " |")
    lines += ["", "Wall time per system (s): " + ", ".join(f"{n} {m['seconds'][n]:.1f}" for n in names) + ".", ""]
    errors = {n: c for n, c in m["errors"].items() if c}
    if errors:
        lines += ["Errors: " + ", ".join(f"{n}: {c} question(s)" for n, c in errors.items()) + ".", ""]
    lines += ["![metrics per system](metrics.png)", "", "![latency](latency.png)", "", "## What the metrics mean", ""]
    lines += [f"- **{k}**: {v}" for k, v in EXPLAIN.items()]
    lines += ["", "## The ten worst failures", "", "(taken from each system in turn, worst first)", ""]
    worst = worst_failures(rows)
    if not worst:
        lines.append("None: every answer was right, cited and refused when it should be.")
    for i, r in enumerate(worst, 1):
        a = r["answer"] or {}
        kind = ("error" if r["error"] else "answered but contradicted by its sources" if r["scores"].get("contradicted")
                else "answered an unanswerable question" if not r["answerable"]
                else "refused an answerable question" if a.get("refused") else "weak answer")
        lines += [f"### {i}. {r['system']} · {r['id']} · {kind}", "",
                  f"- question: {r['question']}",
                  f"- expected: {'; '.join(r['references'])[:300] if r['answerable'] else '(a refusal: the documents do not say)'}",
                  f"- answer: {(a.get('answer') or r['error'] or '').strip()[:400]}"]
        sc = {k: v for k, v in r["scores"].items() if v is not None}
        if sc:
            lines.append("- scores: " + ", ".join(f"{k} {v:.2f}" for k, v in sc.items()))
        for c in (a.get("citations") or [])[:3]:
            lines.append(f"- [{c['n']}] {c['source'].split('/')[-1]} ({c['start']}-{c['end']}): \"{c['quote'][:300]}\"")
        lines.append("")
    return "\n".join(lines) + "\n"


def _fmt0(v) -> str:
    return "–" if v is None else f"{v:.0f}"


def plots(run: EvalRun, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = metrics_json(run)["metrics"]
    names = [s.name for s in run.systems]
    keys = [k for k, _ in QUALITY if any(m[n].get(k) is not None for n in names)]
    fig, ax = plt.subplots(figsize=(max(8, len(keys) * 1.1), 4.5))
    width = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        xs = [j + i * width for j in range(len(keys))]
        ax.bar(xs, [m[n].get(k) or 0.0 for k in keys], width, label=n)
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(keys))])
    ax.set_xticklabels([k if k != "hit@k" else f"hit@{run.top_k}" for k in keys], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{run.dataset.name}: metrics per system ({len(run.dataset.examples)} questions)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [out / "metrics.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    data = [[p.timings_ms["total"] for p in s.predictions if "total" in p.timings_ms] for s in run.systems]
    shown = [(n, d) for n, d in zip(names, data) if d]
    if shown:
        ax.boxplot([d for _, d in shown], showfliers=True)
        ax.set_xticks(range(1, len(shown) + 1))
        ax.set_xticklabels([n for n, _ in shown], rotation=15)
        ax.set_yscale("log")
    ax.set_ylabel("total ms per question (log)")
    ax.set_title("latency distribution")
    fig.tight_layout()
    paths.append(out / "latency.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def write_run(run: EvalRun, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    rows = list(result_rows(run))
    (out / "metrics.json").write_text(json.dumps(metrics_json(run), indent=2) + "\n")
    with (out / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(markdown(run, rows), encoding="utf-8")
    return [out / "metrics.json", out / "results.jsonl", out / "report.md", *plots(run, out)]


# --- comparing two runs ---------------------------------------------------------------------------
def _load_run(path: Path) -> tuple[dict, dict[tuple[str, str], dict]]:
    path = Path(path)
    if not (path / "metrics.json").is_file() or not (path / "results.jsonl").is_file():
        raise PathNotFound(f"{path} is not an eval run: it needs metrics.json and results.jsonl. "
                           "Pass the --out folders of two `qa eval` runs.")
    try:
        metrics = json.loads((path / "metrics.json").read_text())
        rows = [json.loads(line) for line in (path / "results.jsonl").read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: damaged run output ({exc.msg}). Re-run `qa eval`.") from None
    return metrics, {(r["system"], r["id"]): r for r in rows}


def _outcome(row: dict) -> str:
    a = row.get("answer")
    if a is None:
        return "error" if row.get("error") else "retrieval"
    if a.get("refused"):
        return "refused"
    sc = row["scores"]
    if not row["answerable"]:
        return "answered (should refuse)"
    return "right" if (sc.get("contains") or 0) >= 1 or (sc.get("recall") or 0) >= 0.5 else "wrong"


def compare(run_a: Path, run_b: Path) -> str:
    """What changed between two runs: every shared metric, then question by question."""
    ma, ra = _load_run(run_a)
    mb, rb = _load_run(run_b)
    lines = [f"A: {run_a} ({ma['dataset']}, {ma['questions']} questions, {ma['started']})",
             f"B: {run_b} ({mb['dataset']}, {mb['questions']} questions, {mb['started']})", ""]
    for system in [s for s in ma["metrics"] if s in mb["metrics"]]:
        lines.append(f"== {system}")
        a, b = ma["metrics"][system], mb["metrics"][system]
        for key in a:
            if key in b and a[key] is not None and b[key] is not None:
                d = b[key] - a[key]
                flag = "" if abs(d) < 1e-9 else ("  +" if d > 0 else "  -")
                lines.append(f"  {key:<22} {a[key]:>10.3f} -> {b[key]:>10.3f}{flag}")
        changed = []
        for (sys_, qid), row_a in ra.items():
            row_b = rb.get((sys_, qid))
            if sys_ != system or row_b is None:
                continue
            oa, ob = _outcome(row_a), _outcome(row_b)
            f1a, f1b = row_a["scores"].get("f1"), row_b["scores"].get("f1")
            ha, hb = row_a["scores"].get("mrr@10"), row_b["scores"].get("mrr@10")
            notes = []
            if oa != ob:
                notes.append(f"{oa} -> {ob}")
            if f1a is not None and f1b is not None and abs(f1b - f1a) >= 0.1:
                notes.append(f"f1 {f1a:.2f} -> {f1b:.2f}")
            if ha is not None and hb is not None and abs(hb - ha) >= 0.1:
                notes.append(f"mrr {ha:.2f} -> {hb:.2f}")
            if notes:
                changed.append(f"  {qid:<22} {'; '.join(notes)}  | {row_a['question'][:60]}")
        only = sorted({q for s, q in ra if s == system} ^ {q for s, q in rb if s == system})
        lines.append(f"  {len(changed)} question(s) changed" + (f", {len(only)} in only one run" if only else ""))
        lines += changed
        lines.append("")
    missing = sorted(set(ma["metrics"]) ^ set(mb["metrics"]))
    if missing:
        lines.append("systems in only one run: " + ", ".join(missing))
    return "\n".join(lines).rstrip() + "\n"
