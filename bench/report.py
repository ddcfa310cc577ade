"""results.json, the table printed to stdout, and the PNG chart of the ratios."""

from __future__ import annotations

import json
import math
import operator
from pathlib import Path

from bench.common import Section

SCHEMA = 1
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def build(sections: list[Section], *, machine: dict, when: str, git: dict, quick: bool, params: dict,
          errors: dict[str, str], skipped: dict[str, str]) -> dict:
    results, units, samples, notes, ratios, targets = {}, {}, {}, {}, {}, {}
    for s in sections:
        results[s.name] = dict(s.metrics)
        units.update({f"{s.name}.{k}": u for k, u in s.units.items()})
        samples.update({f"{s.name}.{k}": v for k, v in s.samples.items()})
        if s.notes:
            notes[s.name] = list(s.notes)
        for c in s.comparisons:
            ours, ref = s.metrics.get(c.ours), s.metrics.get(c.reference)
            if ours is None or ref is None or not ref:
                continue
            key = f"{s.name}.{_slug(c.name)}"
            value = round(ours / ref, 4)
            ratios[key] = {"value": value, "ours": f"{s.name}.{c.ours}", "reference": f"{s.name}.{c.reference}",
                           "better": c.better, "label": c.label, "against": c.against}
            if c.target:
                op, bound = c.target
                targets[key] = {"value": value, "target": f"{op} {bound}", "met": bool(OPS[op](value, bound))}
    return {"schema": SCHEMA, "machine": machine, "when": when, "git": git, "quick": quick, "params": params,
            "results": results, "units": units, "ratios": ratios, "targets": targets, "samples": samples,
            "notes": notes, "errors": errors, "skipped": skipped}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_").replace("__", "_")


def write(doc: dict, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    png = out.with_suffix(".png")
    if "scale" in doc["results"]:  # the scale curve: the PNG itself when scale ran alone, else NAME-scale.png
        from bench.scale import chart as scale_chart

        scale_chart(doc, png if set(doc["results"]) == {"scale"} else out.with_name(out.stem + "-scale.png"))
        if set(doc["results"]) == {"scale"}:
            return png
    chart(doc, png)
    return png


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def rows(doc: dict) -> list[list[str]]:
    """section, metric, ours, reference, ratio, target, met: one row per comparison, then the
    measurements that have no reference."""
    out, used = [], set()
    res, units = doc["results"], doc["units"]
    for key, r in doc["ratios"].items():
        section = key.split(".", 1)[0]
        o, ref = r["ours"], r["reference"]
        used |= {o, ref}
        unit = units.get(o, "")
        t = doc["targets"].get(key)
        out.append([section, f"{r['label']} [{unit}]" if unit else r["label"],
                    _fmt(res[section][o.split('.', 1)[1]]), f"{_fmt(res[section][ref.split('.', 1)[1]])} "
                    f"({r.get('against', '')})", f"{r['value']:.3f}",
                    t["target"] if t else "", ("yes" if t["met"] else "NO") if t else ""])
    for section, metrics in res.items():
        for name, v in metrics.items():
            full = f"{section}.{name}"
            if full in used or not units.get(full):
                continue
            out.append([section, f"{name} [{units[full]}]", _fmt(v), "", "", "", ""])
    return out


def table(doc: dict) -> str:
    head = ["section", "metric", "ours", "reference", "ratio", "target", "met"]
    body = rows(doc)
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    parts = [line(head), line(["-" * w for w in widths]), *map(line, body)]
    if doc["errors"]:
        parts += ["", *(f"ERROR {k}: {v.splitlines()[-1] if v else ''}" for k, v in doc["errors"].items())]
    if doc["skipped"]:
        parts += ["", *(f"skipped {k}: {v}" for k, v in doc["skipped"].items())]
    for section, notes in doc["notes"].items():
        parts += [f"note {section}: {n}" for n in notes]
    return "\n".join(parts)


def chart(doc: dict, path: Path) -> None:
    """One horizontal bar per ratio (ours / reference, log scale) with its target as a navy tick:
    green where the target is met, red where not, grey where there is no target."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = list(doc["ratios"].items())
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(3, len(items)) + 1.4))
    if items:
        labels = [f"{k.split('.', 1)[0]}: {r['label']}" for k, r in items]
        values = [max(r["value"], 1e-3) for _, r in items]
        colors = [("#2a9d55" if doc["targets"][k]["met"] else "#d1495b") if k in doc["targets"] else "#9aa5b1"
                  for k, _ in items]
        y = range(len(items))
        ax.barh(list(y), values, color=colors)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([0.25, 0.5, 0.75, 1, 1.5, 2, 4])
        ax.axvline(1.0, color="black", lw=1)
        for i, (key, r) in enumerate(items):
            t = doc["targets"].get(key)
            if t:
                bound = float(t["target"].split()[1])
                ax.plot([bound, bound], [i - 0.4, i + 0.4], color="#1d3557", lw=2.5)
            ax.text(values[i], i, f" {r['value']:.2f}", va="center", fontsize=8)
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.invert_yaxis()
    ax.set_xlabel("ours / reference (log scale; navy tick = target; green met, red missed, grey no target)")
    m = doc["machine"]
    ax.set_title(f"groundqa bench{' (quick)' if doc['quick'] else ''}: {m.get('cpu', '?')}, "
                 f"{m.get('threads')} threads, {doc['when'][:10]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
