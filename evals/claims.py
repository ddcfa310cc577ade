"""The verifier benchmark: `qa eval --dataset claims`.

`evals/data/claims.jsonl` holds labelled answer sentences ("claims"), one JSON object per line:

    {"id": "c0001", "question": "...", "claim": "...", "passages": ["...", ...], "supported": false,
     "kind": "role_swap", "split": "test", "dataset": "seed", "source": "handmade"}

- `supported`: labelled by reading, never by a verifier: true only if everything the claim says (who did
  what to whom, negation, numbers, dates, causes) is stated in the passages.
- `kind`: `model` (a sentence SmolLM2 wrote; `model_role`, `model_negation`, `model_number`, ... when its
  error is of that type) or a hand-made hard case: `role_swap`, `wrong_object`, `negation`, `number`,
  `causal`, `other_entity`, `stitched` (each with true versions of the same kind, so per-kind false flags
  are measured too) and `paraphrase_supported` (the same fact in other words; all supported).
- `dataset`: the corpus the passages come from (seed, clapnq, musique, docs); `source`: smollm2 | handmade.
- `split`: tune | test, written explicitly (`evals.splits.hash_split("claims", id)`).

Scoring: the positive class is *unsupported*. The verifier (`Service.check_claim`) catches an unsupported
claim when it returns supported=False. With tp = unsupported claims flagged, fp = supported claims flagged,
fn = unsupported claims passed, tn = supported claims passed:

- precision = tp / (tp + fp): of the claims it flags, the share that are really unsupported. **None** (shown
  as "-") when it flags nothing, since it is undefined then; it is never reported as 0.0.
- recall = tp / (tp + fn): the share of unsupported claims caught (None when there are none).
- false_flag_rate = fp / (fp + tn): the share of supported claims flagged (None when there are none).
- f1 = 2tp / (2tp + fp + fn) (equal to the harmonic mean of precision and recall where both are defined;
  0.0 for a verifier that flags nothing while there are unsupported claims; None when there is nothing to find
  and nothing was flagged).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from evals.datasets import DATA, unique_items
from evals.metrics import MetricResult
from evals.splits import SPLIT_CHOICES, check_split
from qa.errors import InvalidInput, PathNotFound

CLAIMS_FILE = DATA / "claims.jsonl"
FIELDS = ("id", "question", "claim", "passages", "supported", "kind", "split", "dataset", "source")
SOURCES = ("smollm2", "handmade")
HANDMADE_KINDS = ("role_swap", "wrong_object", "negation", "number", "causal", "other_entity", "stitched",
                  "paraphrase_supported")


# --- data -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimItem:
    id: str
    question: str
    claim: str
    passages: tuple[str, ...]
    supported: bool
    kind: str
    split: str
    dataset: str
    source: str

    def to_dict(self) -> dict:
        return {"id": self.id, "question": self.question, "claim": self.claim, "passages": list(self.passages),
                "supported": self.supported, "kind": self.kind, "split": self.split, "dataset": self.dataset,
                "source": self.source}


def parse_claim(obj: object, where: str) -> ClaimItem:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: expected a JSON object with the fields {', '.join(FIELDS)}.")
    missing = [k for k in FIELDS if k not in obj]
    if missing:
        raise InvalidInput(f"{where}: missing field(s) {', '.join(missing)}. Each line needs {', '.join(FIELDS)}.")
    for key in ("id", "question", "claim", "kind", "split", "dataset", "source"):
        if not isinstance(obj[key], str):
            raise InvalidInput(f"{where}: '{key}' must be text, got {obj[key]!r}.")
    if not obj["claim"].strip():
        raise InvalidInput(f"{where}: 'claim' is empty.")
    passages = obj["passages"]
    if not isinstance(passages, list) or not passages or not all(isinstance(p, str) and p.strip() for p in passages):
        raise InvalidInput(f"{where}: 'passages' must be a non-empty list of non-empty strings.")
    if not isinstance(obj["supported"], bool):
        raise InvalidInput(f"{where}: 'supported' must be true or false, got {obj['supported']!r}.")
    if obj["split"] not in ("tune", "test"):
        raise InvalidInput(f"{where}: 'split' must be tune or test, got {obj['split']!r}.")
    if obj["source"] not in SOURCES:
        raise InvalidInput(f"{where}: 'source' must be one of {', '.join(SOURCES)}, got {obj['source']!r}.")
    return ClaimItem(id=obj["id"], question=obj["question"], claim=obj["claim"].strip(), passages=tuple(passages),
                     supported=obj["supported"], kind=obj["kind"], split=obj["split"], dataset=obj["dataset"],
                     source=obj["source"])


def load_claims(path: str | Path | None = None, split: str = "test") -> list[ClaimItem]:
    """The labelled claims of `split` (tune, test or all). Raises PathNotFound / InvalidInput with a fix."""
    check_split(split)
    path = Path(path) if path else CLAIMS_FILE
    if not path.is_file():
        raise PathNotFound(f"Claims file not found: {path}. It ships as evals/data/claims.jsonl.")
    items: list[ClaimItem] = unique_items(path, parse_claim, "claim", "Each line must be one JSON object.")
    return items if split == "all" else [it for it in items if it.split == split]


# --- scoring --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Confusion:
    """Counts with unsupported as the positive class (see the module docstring)."""

    tp: int = 0  # unsupported, flagged (caught)
    fp: int = 0  # supported, flagged (false flag)
    fn: int = 0  # unsupported, passed (missed)
    tn: int = 0  # supported, passed

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def false_flag_rate(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    @property
    def f1(self) -> float | None:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    def add(self, supported: bool, flagged: bool) -> "Confusion":
        if supported:
            return Confusion(self.tp, self.fp + flagged, self.fn, self.tn + (not flagged))
        return Confusion(self.tp + flagged, self.fp, self.fn + (not flagged), self.tn)

    def to_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {"n": self.n, "unsupported": self.tp + self.fn, "supported": self.fp + self.tn,
                "precision": r(self.precision), "recall": r(self.recall), "false_flag_rate": r(self.false_flag_rate),
                "f1": r(self.f1), "accuracy": r(self.accuracy),
                "confusion": {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}}


@dataclass
class ClaimsMetrics:
    overall: Confusion
    per_kind: dict[str, Confusion]
    per_dataset: dict[str, Confusion]
    per_source: dict[str, Confusion]
    rows: list[dict]  # one per item: the item, the verdict and its outcome (tp/fp/fn/tn)
    results: dict[str, MetricResult] = field(default_factory=dict)  # recall, false_flag_rate, accuracy per item

    @property
    def precision(self) -> float | None:
        return self.overall.precision

    @property
    def recall(self) -> float | None:
        return self.overall.recall

    @property
    def false_flag_rate(self) -> float | None:
        return self.overall.false_flag_rate

    @property
    def f1(self) -> float | None:
        return self.overall.f1

    def to_dict(self) -> dict:
        return {"overall": self.overall.to_dict(),
                "per_kind": {k: c.to_dict() for k, c in self.per_kind.items()},
                "per_dataset": {k: c.to_dict() for k, c in self.per_dataset.items()},
                "per_source": {k: c.to_dict() for k, c in self.per_source.items()}}


def _verdict_fields(verdict: Any) -> dict:
    """A verdict as a dict: a bool (supported), a ClaimCheck-like object or a dict with `supported`."""
    if isinstance(verdict, bool):
        return {"supported": verdict}
    if isinstance(verdict, Mapping):
        d = dict(verdict)
    elif hasattr(verdict, "to_dict"):
        d = verdict.to_dict()
    else:
        d = {k: getattr(verdict, k) for k in ("supported", "support", "reason", "quote") if hasattr(verdict, k)}
    if not isinstance(d.get("supported"), bool):
        raise InvalidInput(f"A verdict needs a boolean 'supported', got {verdict!r}.")
    return d


def score_claims(items: Sequence[ClaimItem], verdicts: Sequence[Any] | Mapping[str, Any],
                 ms: Sequence[float] | Mapping[str, float] | None = None) -> ClaimsMetrics:
    """Score verdicts (aligned with `items`, or a mapping id -> verdict) against the labels.
    A verdict flags the claim when its `supported` is False."""
    if isinstance(verdicts, Mapping):
        missing = [it.id for it in items if it.id not in verdicts]
        if missing:
            raise InvalidInput(f"No verdict for {len(missing)} claim(s), e.g. {missing[0]!r}.")
        ordered = [verdicts[it.id] for it in items]
    else:
        ordered = list(verdicts)
        if len(ordered) != len(items):
            raise InvalidInput(f"{len(ordered)} verdicts for {len(items)} claims: give one verdict per claim.")
    if ms is not None and isinstance(ms, Mapping):
        ms = [ms.get(it.id) for it in items]
    overall = Confusion()
    per_kind: dict[str, Confusion] = {}
    per_dataset: dict[str, Confusion] = {}
    per_source: dict[str, Confusion] = {}
    rows = []
    caught: dict[str, float | None] = {}
    flagged_ok: dict[str, float | None] = {}
    correct: dict[str, float | None] = {}
    for i, (item, verdict) in enumerate(zip(items, ordered)):
        v = _verdict_fields(verdict)
        flagged = not v["supported"]
        overall = overall.add(item.supported, flagged)
        per_kind[item.kind] = per_kind.get(item.kind, Confusion()).add(item.supported, flagged)
        per_dataset[item.dataset] = per_dataset.get(item.dataset, Confusion()).add(item.supported, flagged)
        per_source[item.source] = per_source.get(item.source, Confusion()).add(item.supported, flagged)
        outcome = ("fp" if flagged else "tn") if item.supported else ("tp" if flagged else "fn")
        caught[item.id] = None if item.supported else float(flagged)
        flagged_ok[item.id] = float(flagged) if item.supported else None
        correct[item.id] = float(flagged != item.supported)
        row = {**item.to_dict(), "verdict": {k: v.get(k) for k in ("supported", "support", "reason", "quote") if k in v},
               "outcome": outcome}
        if ms is not None and ms[i] is not None:
            row["ms"] = round(float(ms[i]), 2)
        rows.append(row)
    results = {
        "recall": MetricResult("recall", overall.recall, caught),
        "false_flag_rate": MetricResult("false_flag_rate", overall.false_flag_rate, flagged_ok),
        "accuracy": MetricResult("accuracy", overall.accuracy, correct),
    }
    return ClaimsMetrics(overall, dict(sorted(per_kind.items())), dict(sorted(per_dataset.items())),
                         dict(sorted(per_source.items())), rows, results)


# --- running --------------------------------------------------------------------------------------
@dataclass
class ClaimsRun:
    split: str
    items: list[ClaimItem]
    verdicts: list[Any]
    ms: list[float]  # check_claim time per claim
    metrics: ClaimsMetrics
    seconds: float
    started: str = ""

    def latency(self) -> dict[str, float | None]:
        if not self.ms:
            return {"mean_ms": None, "p50_ms": None, "p95_ms": None, "max_ms": None}
        s = sorted(self.ms)
        return {"mean_ms": round(statistics.fmean(s), 2), "p50_ms": round(statistics.median(s), 2),
                "p95_ms": round(s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))], 2), "max_ms": round(s[-1], 2)}


def run_claims(service, split: str = "test", progress: bool = True, *, items: Sequence[ClaimItem] | None = None,
               path: str | Path | None = None) -> ClaimsRun:
    """Call `service.check_claim` on every claim of `split` (or the given `items`), timing each, and score."""
    from evals.progress import ProgressBar

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    items = list(items) if items is not None else load_claims(path, split)
    bar = ProgressBar(len(items), f"claims ({split})") if progress else None
    t0 = time.perf_counter()
    verdicts, ms = [], []
    for item in items:
        t = time.perf_counter()
        verdicts.append(service.check_claim(item.claim, list(item.passages), item.question))
        ms.append((time.perf_counter() - t) * 1000)
        if bar:
            bar.update(note=item.kind)
    seconds = time.perf_counter() - t0
    return ClaimsRun(split, items, verdicts, ms, score_claims(items, verdicts, ms), seconds, started)


# --- output ---------------------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def table(groups: Mapping[str, Confusion], label: str = "kind", markdown: bool = False) -> str:
    head = [label, "n", "unsup", "precision", "recall", "false_flag", "f1", "tp", "fp", "fn", "tn"]
    body = [[name, str(c.n), str(c.tp + c.fn), _fmt(c.precision), _fmt(c.recall), _fmt(c.false_flag_rate),
             _fmt(c.f1), str(c.tp), str(c.fp), str(c.fn), str(c.tn)] for name, c in groups.items()]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n"
    width = max([len(label)] + [len(r[0]) for r in body]) + 2
    out = [f"{head[0]:<{width}}" + "".join(f"{h:>11}" for h in head[1:])]
    out += [f"{r[0]:<{width}}" + "".join(f"{x:>11}" for x in r[1:]) for r in body]
    return "\n".join(out) + "\n"


def _excerpt(item: dict, n: int = 300) -> str:
    text = " ".join(" ".join(item["passages"]).split())
    return text[:n] + ("..." if len(text) > n else "")


def write_claims_report(result: ClaimsRun, out_dir: str | Path) -> list[Path]:
    """metrics.json, results.jsonl and report.md in `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = result.metrics
    metrics = {"dataset": "claims", "split": result.split, "claims": len(result.items), "started": result.started,
               "seconds": round(result.seconds, 2), "latency": result.latency(),
               "positive_class": "unsupported (the verifier flags a claim with supported=false)", **m.to_dict()}
    paths = [out / "metrics.json", out / "results.jsonl", out / "report.md"]
    paths[0].write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    with paths[1].open("w", encoding="utf-8") as f:
        for row in m.rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    lat = result.latency()
    md = [f"# Verifier benchmark: claims ({result.split})", "",
          f"{len(result.items)} claims, {result.seconds:.1f}s "
          f"(per claim: mean {lat['mean_ms']} ms, p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms). "
          "Positive class: unsupported. precision = flagged claims that are unsupported; recall = unsupported "
          "claims caught; false_flag = supported claims flagged. '-' = undefined (nothing to divide by).", "",
          "## Overall", "", table({"all": m.overall}, "set", markdown=True),
          "## Per kind", "", table(m.per_kind, "kind", markdown=True),
          "## Per dataset", "", table(m.per_dataset, "dataset", markdown=True),
          "## Per source", "", table(m.per_source, "source", markdown=True)]
    for title, outcome in (("Misses: unsupported claims passed (fn)", "fn"), ("False flags: supported claims flagged (fp)", "fp")):
        rows = [r for r in m.rows if r["outcome"] == outcome]
        md += [f"## {title}: {len(rows)}", ""]
        for r in rows:
            v = r["verdict"]
            md += [f"- **{r['id']}** ({r['kind']}, {r['dataset']}): {r['claim']}",
                   f"  - passages: {_excerpt(r)}",
                   f"  - verifier: reason `{v.get('reason')}`, support {_fmt(v.get('support'))}"
                   + (f", quote: \"{' '.join(str(v['quote']).split())[:200]}\"" if v.get("quote") else "")]
        md.append("")
    paths[2].write_text("\n".join(md), encoding="utf-8")
    return paths


def claims_command(args) -> int:
    """`qa eval --dataset claims [--split test|tune|all] [--out DIR] [--home H] [--threads N] [--quiet]`."""
    import qa

    split = check_split(getattr(args, "split", None) or "test")
    service = qa.open(home=args.home, threads=args.threads)
    result = run_claims(service, split, progress=not args.quiet)
    out = Path(args.out) if args.out else Path("runs") / f"claims-{split}-{time.strftime('%Y%m%d-%H%M%S')}"
    paths = write_claims_report(result, out)
    m = result.metrics
    print(table(m.per_kind, "kind") + "\n" + table(m.per_dataset, "dataset") + "\n" + table({"all": m.overall}, "overall"))
    lat = result.latency()
    print(f"{len(result.items)} claims ({split}) took {result.seconds:.1f}s (p50 {lat['p50_ms']} ms/claim); "
          f"wrote {', '.join(str(p) for p in paths)}")
    return 0


__all__ = ["CLAIMS_FILE", "ClaimItem", "ClaimsMetrics", "ClaimsRun", "Confusion", "SPLIT_CHOICES", "claims_command",
           "load_claims", "run_claims", "score_claims", "table", "write_claims_report"]
