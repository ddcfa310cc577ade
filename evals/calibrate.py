"""`qa calibrate`: fit the refusal model and the support threshold on data, write `qa/calibration.json`.

Data: the TUNE splits of the dev datasets (clapnq, docs, seed, musique; evals/splits.py), each weighing
the same; their test splits are collected too, but only to report how the fit transfers (never fitted).

- Refusal: logistic regression over `Grounder.features()` of the retrieved passages; the threshold is
  the one that refuses the most unanswerable questions while keeping false refusals of answerable
  ones at or under `--max-false-refusal` on the calibration data.
- Support: reference answer sentences scored against the gold passage (supported) and against the
  other retrieved passages (unsupported); the threshold maximises balanced accuracy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.chunking import split_sentences
from qa.grounding import CALIBRATION_FILE

FEATURES = ["q_cov", "q_dense", "best", "missing_salient", "top_score", "margin", "type_missing", "answer_found"]


@dataclass
class FitResult:
    weights: dict[str, float]
    bias: float


def fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3, steps: int = 4000, lr: float = 0.5) -> FitResult:
    """Weighted logistic regression by gradient descent (features are already on 0..1 scales)."""
    n, d = X.shape
    coef, bias = np.zeros(d), 0.0
    w = w / w.sum()
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(X @ coef + bias)))
        g = (p - y) * w
        coef -= lr * (X.T @ g + l2 * coef)
        bias -= lr * g.sum()
    return FitResult({f: float(c) for f, c in zip(FEATURES, coef)}, float(bias))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def choose_threshold(p: np.ndarray, y: np.ndarray, max_false_refusal: float, ruled: np.ndarray | None = None) -> float:
    """Highest threshold (most refusals) whose false-refusal rate on answerable questions stays within bound;
    with `ruled`, counting the questions the other refusal rules refuse anyway (the whole system's rate)."""
    ruled = np.zeros(len(p), dtype=bool) if ruled is None else ruled
    best = 0.0
    for t in np.unique(np.concatenate([p, [0.0]])):
        false_refusal = float(np.mean(((p < t) | ruled)[y > 0])) if (y > 0).any() else 0.0
        if false_refusal <= max_false_refusal:
            best = max(best, float(t))
    return best


def balanced_threshold(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], max_false_refusal: float,
                       wrong_cost: float = 1.0) -> float:
    """The threshold with the best mean (unanswerable accuracy - cost of refused answerable questions) of the whole
    system over the tune splits, among those keeping the false refusals of each split with both kinds of question
    within bound. Refusing an answerable question costs 1 when the service would answer it correctly (y == 1) and
    `wrong_cost` when it would answer it wrongly (y == 0.5): a wrong answer is no loss to refuse. A split of only
    answerable questions (multi-hop) counts with its costs alone (it cannot set the bound: it would always say 0)."""
    best_t, best = 0.0, -np.inf
    for t in np.unique(np.concatenate([p for p, _, _ in parts] + [np.array([0.0])])):
        got = [rates(p, y, float(t), r) for p, y, r in parts]
        if any(g["false_refusal"] > max_false_refusal for g in got if g["unanswerable_accuracy"] is not None):
            continue
        costs = []
        for (p, y, r), g in zip(parts, got):
            refused = (p < t) | r
            answerable = y > 0
            cost = (np.where(y[answerable] == 1, 1.0, wrong_cost) * refused[answerable]).sum() / max(1, answerable.sum())
            costs.append((g["unanswerable_accuracy"] or 0.0) - cost)
        gain = float(np.mean(costs))
        if gain > best:
            best_t, best = float(t), gain
    return best_t


def rates(p: np.ndarray, y: np.ndarray, t: float, ruled: np.ndarray | None = None) -> dict[str, float]:
    """Refusal rates at threshold t; with `ruled` (questions another rule refuses anyway), of the whole system."""
    refused = (p < t) | (ruled if ruled is not None else np.zeros(len(p), dtype=bool))
    return {
        "unanswerable_accuracy": round(float(np.mean(refused[y == 0])), 4) if (y == 0).any() else None,
        "false_refusal": round(float(np.mean(refused[y > 0])), 4) if (y > 0).any() else None,
        "right_answers_refused": round(float(np.mean(refused[y == 1])), 4) if (y == 1).any() else None,
        "n_answerable": int((y > 0).sum()), "n_answered_right": int((y == 1).sum()), "n_unanswerable": int((y == 0).sum()),
    }


OPEN = "unmentioned,comparison,role_conflict,answerability"  # every refusal rule off: what would it answer?


def answered_correctly(service, example, collection: str, top_k: int) -> bool:
    """Whether the extractive answer the service gives when no refusal rule may refuse is right: it has a
    reference answer in it (evals/metrics.py `contains`; short references) or at least half of a reference's
    words (long references, such as ClapNQ's sentences). Refusing such a question loses a right answer."""
    from evals.metrics import contains, token_recall

    answer = service.ask(example.question, collection, top_k=top_k)
    return not answer.refused and any(contains(answer.answer, r) or token_recall(answer.answer, r) >= 0.5
                                      for r in example.answers)


def collect(service, examples, collection: str, top_k: int, progress: str):
    """Refusal features per question, and support scores of reference sentences (gold vs other passages).
    y: 1 for an answerable question the service answers correctly (when nothing refuses it), 0.5 for one it
    would answer wrongly, 0 for an unanswerable one."""
    g = service.grounder
    open_service = service.variant(without=OPEN)
    X, y, pos, neg, ruled = [], [], [], [], []
    for i, ex in enumerate(examples):
        decision, passages = service.decision_for(ex.question, collection, top_k)  # exactly what `ask` decides on
        ev = g.evidence(passages)
        feats = decision.features
        X.append([feats[f] for f in FEATURES])
        y.append(0.0 if not ex.answerable else 1.0 if answered_correctly(open_service, ex, collection, top_k) else 0.5)
        ruled.append(decision.rule not in (None, "answerability"))  # another rule refuses whatever the model says
        if ex.answerable and ex.answers and ex.evidence:
            gold = {p.n for p in passages if any(e.strip() and e.strip() in p.text for e in ex.evidence)}
            sentences = [s for s in split_sentences(ex.answers[0]) if len(s.split()) >= 4][:3]
            if gold and sentences:
                vectors = g.encode(sentences)
                for s, v in zip(sentences, vectors):
                    scores = ev.scores(s, v)
                    on = [scores[k] for k, sp in enumerate(ev.spans) if sp.passage in gold]
                    off = [scores[k] for k, sp in enumerate(ev.spans) if sp.passage not in gold]
                    pos.append(max(on))
                    if off:
                        neg.append(max(off))
                    # Hard negatives: the same claim with one fact changed, against all passages.
                    wrong = corrupt(s, i)
                    if wrong:
                        neg.append(float(ev.scores(wrong, g.encode([wrong])[0]).max()))
        if sys.stderr.isatty() and (i + 1) % 10 == 0:
            print(f"\r{progress}: {i + 1}/{len(examples)}", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return np.asarray(X, dtype=float), np.asarray(y, dtype=float), pos, neg, np.asarray(ruled, dtype=bool)


_AUX = re.compile(r"\b(is|was|are|were|has|have|had|can|will|would|could|did|does)\b")
_NUM = re.compile(r"\b\d+\b")
_DECOYS = ["Norway", "Brazil", "Kenya", "Tokyo", "Madrid", "Harrison", "Okafor", "Lindqvist"]


def corrupt(sentence: str, salt: int) -> str | None:
    """A claim that reads like `sentence` but is false: a number changed, a name swapped or a negation added."""
    m = _NUM.search(sentence)
    if m:
        return f"{sentence[: m.start()]}{int(m.group()) + 7}{sentence[m.end():]}"
    names = [w for w in re.findall(r"\b[A-Z][a-z]{2,}\b", sentence)[1:]]
    if names and salt % 2 == 0:
        return sentence.replace(names[0], _DECOYS[salt % len(_DECOYS)], 1)
    m = _AUX.search(sentence)
    if m:
        return f"{sentence[: m.end()]} not{sentence[m.end():]}"
    return None


def support_threshold(pos: list[float], neg: list[float], min_recall: float = 0.85) -> tuple[float, float]:
    """The threshold with the best balanced accuracy among those that keep at least `min_recall`
    of truly supported sentences (an answer stripped of true sentences falls back to extraction;
    a false sentence let through is a grounding failure, so the bias is towards strict)."""
    pos_a, neg_a = np.asarray(pos), np.asarray(neg)
    best_t, best_bal = 0.5, 0.0
    for t in np.linspace(0.3, 0.9, 61):
        bal = 0.5 * (np.mean(pos_a >= t) + np.mean(neg_a < t))
        if bal > best_bal and np.mean(pos_a >= t) >= min_recall:
            best_t, best_bal = float(t), float(bal)
    return round(best_t, 3), round(best_bal, 4)


CAL_DATASETS = ("clapnq", "docs", "seed", "musique")  # fitted on their tune splits only


def main(argv: list[str] | None = None) -> int:
    import qa
    from evals.runner import ensure_indexed, load_dataset

    parser = argparse.ArgumentParser(prog="qa calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help="where the calibration collections live (default: $GROUNDQA_HOME)")
    parser.add_argument("--datasets", default=",".join(CAL_DATASETS),
                        help=f"dev datasets whose TUNE splits are fitted (default {','.join(CAL_DATASETS)}); "
                             "their test splits are only reported")
    parser.add_argument("--top-k", type=int, default=4)
    parser.add_argument("--max-false-refusal", type=float, default=0.2,
                        help="highest false-refusal rate of the whole system allowed on each tune split with "
                             "unanswerable questions (default 0.2)")
    parser.add_argument("--out", default=str(CALIBRATION_FILE))
    parser.add_argument("--target", choices=("answerable", "correct"), default="answerable",
                        help="what the refusal model learns to predict: that the question is answerable, or that the "
                             "service answers it correctly (default answerable)")
    parser.add_argument("--wrong-answer-cost", type=float, default=1.0,
                        help="cost of refusing an answerable question the service would answer wrongly, against 1 for "
                             "one it answers right, in the threshold choice (default 1: every false refusal costs)")
    args = parser.parse_args(argv)

    started = time.time()
    service = qa.open(home=args.home, generator="extractive", top_k=args.top_k)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    fit_parts, test_parts, pos, neg, counts = [], {}, [], [], {}
    for name in names:
        tune = load_dataset(name, split="tune", all=True)
        collection = ensure_indexed(service, tune, progress=sys.stderr.isatty())
        X, y, p_, n_, r = collect(service, tune.examples, collection, args.top_k, f"{name} tune")
        fit_parts.append((name, X, y, r))
        pos += p_
        neg += n_
        test = load_dataset(name, split="test", all=True)  # collected to report only, never fitted
        Xt, yt, _, _, rt = collect(service, test.examples, collection, args.top_k, f"{name} test")
        test_parts[name] = (Xt, yt, rt)
        counts[name] = {"tune": len(tune.examples), "test": len(test.examples)}
    X = np.vstack([x for _, x, _, _ in fit_parts])
    y = np.concatenate([t for _, _, t, _ in fit_parts])
    # every dataset weighs the same in the fit, whatever its size
    w = np.concatenate([np.full(len(t), 1.0 / len(t)) for _, _, t, _ in fit_parts])
    target = (y == 1) if args.target == "correct" else (y > 0)
    fit = fit_logistic(X, target.astype(float), w)
    coef = np.array([fit.weights[f] for f in FEATURES])

    def z(M: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(M @ coef + fit.bias)))

    # The threshold keeps false refusals within bound on each tune split that has answerable questions.
    scored = [(x, t, r) for _, x, t, r in fit_parts if (t > 0).any()]
    threshold = balanced_threshold([(z(x), t, r) for x, t, r in scored], args.max_false_refusal, args.wrong_answer_cost)
    curve = {round(float(c), 2): {n: rates(z(x), t, float(c), r) for n, x, t, r in fit_parts}
             for c in np.linspace(0.1, 0.9, 9)}
    s_threshold, s_bal = support_threshold(pos, neg)
    result = {
        "version": dt.date.today().isoformat() + "-" + hashlib.sha256(json.dumps(fit.weights, sort_keys=True).encode()).hexdigest()[:8],
        "command": "qa calibrate " + " ".join(argv if argv is not None else sys.argv[1:]),
        "features": FEATURES,
        "weights": {k: round(v, 4) for k, v in fit.weights.items()},
        "bias": round(fit.bias, 4),
        "threshold": round(threshold, 4),
        "support_threshold": s_threshold,
        "data": {
            "fitted_on": {n: "tune" for n in names}, "questions": counts, "top_k": args.top_k,
            "max_false_refusal": args.max_false_refusal, "embed_model": service.embedder.fingerprint,
            "weighting": "each dataset's tune split weighs the same",
        "threshold_rule": "best mean (unanswerable accuracy - false refusals) of the whole system (this model or "
                          "any other refusal rule) over the tune splits (a split of answerable questions only counts "
                          "its false refusals), keeping the false refusals of each split with both kinds of question "
                          "at or under max_false_refusal",
        },
        "fit": {n: {"auc": round(auc(z(x), (t > 0).astype(int)), 4), "model_alone": rates(z(x), t, threshold),
                    "system": rates(z(x), t, threshold, r)} for n, x, t, r in fit_parts},
        "support_balanced_accuracy": s_bal,
        "support_pairs": {"supported": len(pos), "unsupported": len(neg)},
        "test_splits_report_only": {n: {"auc": round(auc(z(x), (t > 0).astype(int)), 4), "model_alone": rates(z(x), t, threshold),
                                        "system": rates(z(x), t, threshold, r)}
                                    for n, (x, t, r) in test_parts.items()},
        "tune_curve": curve,
        "seconds": round(time.time() - started, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("version", "threshold", "support_threshold", "fit", "test_splits_report_only")},
                     indent=2))
    return 0
