"""The conversation eval: `qa eval --dataset conversations [--split test|tune|all] [--generator NAME]`.

`evals/data/conversations.jsonl` holds two- and three-turn conversations, one JSON object per line:

    {"id": "cs01", "corpus": "seed", "split": "test", "turns": [
      {"question": "How did the US vote on the UN resolution ...?", "answers": ["against"], "answerable": true,
       "evidence": ["On the same day, the UN General Assembly adopted ..."]},
      {"question": "And on its own resolution?", "standalone": "How did the US vote on its own resolution?",
       "answers": ["abstain", "abstained"], "answerable": true, "evidence": ["The US ultimately chose to abstain ..."]}]}

- `corpus`: the documents the conversation is about: `seed` (seeds/) or `docs` (the Starlette docs).
- each turn is a question in the evals/datasets.py format (`answers`, `answerable`, `evidence`: exact text of the
  corpus); a follow-up turn (every turn after the first) also carries `standalone`: the same question written out
  in full, so the follow-up asked in context can be compared with the same question asked on its own.
- `split`: tune | test, written explicitly (evals/splits.py).

Each conversation is run turn by turn in one `service.conversation()` (the follow-ups resolved against the
earlier turns, as a user's chat is), and every follow-up's `standalone` is also asked alone with `service.ask`.
Turns are scored with evals/metrics.py (the same functions as `qa eval`): `contains` (an accepted answer appears
in the answer: "correct"), `refusal_accuracy`, `false_refusal`, `citation_precision` / `citation_recall` against
the evidence, `quote_exact`. The headline numbers:

- `follow_up_ratio` = follow-up turns correct in context / the same questions correct asked standalone
  (answerable follow-ups with a `standalone`; target >= 0.8);
- `follow_up_refusal` = unanswerable follow-ups refused in context (target >= 0.8);
- `first_turn_contains` = first turns correct;
- the rewrite methods (`unchanged`, `deterministic`, `model`) of the follow-ups, and how close the system's
  standalone question comes to the written one (`rewrite_recall`: share of the written standalone's words in it).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from evals import metrics as M
from evals.datasets import DATA, Example, docs_documents, parse_example, seed_documents, unique_items
from evals.splits import SPLITS, check_split
from qa.errors import GeneratorError, InvalidInput, PathNotFound

CONVERSATIONS_FILE = DATA / "conversations.jsonl"
CORPORA: dict[str, Callable] = {"seed": seed_documents, "docs": docs_documents}  # corpus -> its documents
TARGETS = {"follow_up_ratio": 0.8, "follow_up_refusal": 0.8}  # issue 15's targets on the test split


# --- data -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConversationTurn:
    example: Example  # the turn as asked (id "CONVERSATION#N"), scored with evals/metrics.py
    standalone: str | None  # the question written out in full (follow-ups); None on a first turn without one

    @property
    def standalone_example(self) -> Example | None:
        """The same question asked on its own (id "CONVERSATION#N:standalone"), or None without a `standalone`."""
        if not self.standalone:
            return None
        e = self.example
        return Example(id=f"{e.id}:standalone", question=self.standalone, answers=e.answers, answerable=e.answerable,
                       evidence=e.evidence, gold_sources=e.gold_sources, split=e.split)


@dataclass(frozen=True)
class ConversationItem:
    id: str
    corpus: str
    split: str
    turns: tuple[ConversationTurn, ...]


def parse_conversation(obj: object, where: str) -> ConversationItem:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: expected a JSON object like "
                           '{"id": ..., "corpus": "seed", "split": "test", "turns": [{"question": ..., ...}, ...]}.')
    missing = [k for k in ("id", "corpus", "split", "turns") if k not in obj]
    if missing:
        raise InvalidInput(f"{where}: missing field(s) {', '.join(missing)}. Each line needs id, corpus, split, turns.")
    cid = str(obj["id"])
    if obj["corpus"] not in CORPORA:
        raise InvalidInput(f"{where}: 'corpus' must be one of {', '.join(CORPORA)}, got {obj['corpus']!r}.")
    if obj["split"] not in SPLITS:
        raise InvalidInput(f"{where}: 'split' must be \"tune\" or \"test\", got {obj['split']!r}.")
    turns = obj["turns"]
    if not isinstance(turns, list) or not turns:
        raise InvalidInput(f"{where}: 'turns' must be a non-empty list of question objects.")
    out = []
    for n, turn in enumerate(turns, 1):
        if isinstance(turn, dict) and "id" in turn:
            raise InvalidInput(f"{where}: turn {n} has an 'id'; turns are numbered by their place, leave it out.")
        if not isinstance(turn, dict):
            raise InvalidInput(f"{where}: turn {n} must be a JSON object with question, answers, answerable, evidence.")
        standalone = turn.get("standalone")
        if standalone is not None and (not isinstance(standalone, str) or not standalone.strip()):
            raise InvalidInput(f"{where}: turn {n}: 'standalone' must be non-empty text (or left out).")
        example = parse_example({**turn, "id": f"{cid}#{n}", "split": obj["split"]}, f"{where} turn {n}")
        out.append(ConversationTurn(example, standalone.strip() if standalone else None))
    return ConversationItem(cid, obj["corpus"], obj["split"], tuple(out))


def load_conversations(path: str | Path | None = None, split: str = "test") -> list[ConversationItem]:
    """The conversations of `split` (tune, test or all). Raises PathNotFound / InvalidInput with a fix."""
    check_split(split)
    path = Path(path) if path else CONVERSATIONS_FILE
    if not path.is_file():
        raise PathNotFound(f"Conversations file not found: {path}. It ships as evals/data/conversations.jsonl; "
                           "restore it with `git checkout -- evals/data`.")
    items: list[ConversationItem] = unique_items(path, parse_conversation, "conversation",
                                                 "Each line must be one JSON object (one conversation).")
    return items if split == "all" else [c for c in items if c.split == split]


# --- asking ---------------------------------------------------------------------------------------
@dataclass
class TurnResult:
    conversation: str
    n: int  # 1-based turn number
    answer: dict | None  # the answer JSON contract of the turn asked in context; None when generation failed
    standalone_question: str | None  # what the system searched for (answer.standalone_question)
    method: str  # how the system made it: unchanged | deterministic | model (Turn.method)
    standalone_answer: dict | None = None  # the written `standalone` asked alone (follow-ups)
    ms: float = 0.0  # the turn in context
    error: str | None = None


def ask_conversations(service, items: Sequence[ConversationItem], collections: dict[str, str],
                      generator: str | None = None, top_k: int | None = None,
                      progress: Callable[[str], None] | None = None) -> list[TurnResult]:
    """Run each conversation turn by turn in a new `service.conversation()` over its corpus's collection
    (`collections`: corpus -> collection), and ask each follow-up's `standalone` alone with `service.ask`.
    The conversations are deleted afterwards (an eval leaves no chats behind in the home)."""
    results: list[TurnResult] = []
    for item in items:
        collection = collections[item.corpus]
        conv = service.conversation(collection=collection, generator=generator)
        try:
            for turn in item.turns:
                n = int(turn.example.id.rsplit("#", 1)[1])
                t0 = time.perf_counter()
                try:
                    a = conv.ask(turn.example.question, generator=generator, top_k=top_k)
                except GeneratorError as exc:  # one bad generation is a failed turn, not a failed run
                    results.append(TurnResult(item.id, n, None, None, "error", error=exc.message))
                    continue
                ms = (time.perf_counter() - t0) * 1000
                method = conv.turns[-1].method  # the conversation's record of how it made the standalone question
                r = TurnResult(item.id, n, a.to_dict(), a.standalone_question, method, ms=ms)
                if n > 1 and turn.standalone:
                    try:
                        r.standalone_answer = service.ask(turn.standalone, collection, top_k=top_k,
                                                          generator=generator).to_dict()
                    except GeneratorError as exc:
                        r.error = f"standalone: {exc.message}"
                results.append(r)
        finally:
            service.delete_conversation(conv.id)
        if progress:
            progress(item.id)
    return results


# --- scoring --------------------------------------------------------------------------------------
@dataclass
class ConversationMetrics:
    groups: dict[str, dict[str, M.MetricResult]]  # first, follow_up, follow_up_standalone, all -> metric -> result
    headline: dict[str, float | None]
    methods: dict[str, int]  # rewrite method -> follow-up turns
    rows: list[dict]  # one per turn

    def to_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {"headline": {k: r(v) for k, v in self.headline.items()}, "targets": TARGETS,
                "rewrite_methods": self.methods,
                "groups": {g: {name: {"score": r(m.score), "n": m.n} for name, m in ms.items()}
                           for g, ms in self.groups.items()}}


def _group(examples: Sequence[Example], answers: dict[str, dict | None],
           documents: dict[str, str]) -> dict[str, M.MetricResult]:
    out = dict(M.answer_correctness(examples, answers))
    out["refusal_accuracy"] = M.refusal_accuracy(examples, answers)
    out["false_refusal"] = M.false_refusal_rate(examples, answers)
    out.update(M.gold_citations(examples, answers, documents))
    out["quote_exact"] = M.quote_exactness(examples, answers, documents)
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def score_conversations(items: Sequence[ConversationItem], results: Sequence[TurnResult],
                        documents: dict[str, str]) -> ConversationMetrics:
    """Score the turns (see the module docstring). `documents`: source -> text of every corpus used."""
    by_turn = {(r.conversation, r.n): r for r in results}
    first, follow, alone = [], [], []
    answers: dict[str, dict | None] = {}
    rows = []
    methods: Counter[str] = Counter()
    rewrite_recall: dict[str, float | None] = {}
    for item in items:
        for n, turn in enumerate(item.turns, 1):
            r = by_turn.get((item.id, n))
            if r is None:
                continue
            ex = turn.example
            answers[ex.id] = r.answer
            (first if n == 1 else follow).append(ex)
            sx = turn.standalone_example if n > 1 else None
            if sx is not None and r.standalone_answer is not None:
                alone.append(sx)
                answers[sx.id] = r.standalone_answer
            if n > 1:
                methods[r.method] += 1
                if turn.standalone and r.standalone_question:
                    rewrite_recall[ex.id] = M.token_recall(r.standalone_question, turn.standalone)
            rows.append({"id": ex.id, "conversation": item.id, "turn": n, "corpus": item.corpus, "split": item.split,
                         "question": ex.question, "standalone": turn.standalone,
                         "searched_for": r.standalone_question, "method": r.method, "answerable": ex.answerable,
                         "answers": ex.answers, "answer": r.answer, "standalone_answer": r.standalone_answer,
                         "ms": round(r.ms, 1), "error": r.error})
    groups = {"first": _group(first, answers, documents), "follow_up": _group(follow, answers, documents),
              "follow_up_standalone": _group(alone, answers, documents),
              "all": _group(first + follow, answers, documents)}
    # the ratio compares the same questions: answerable follow-ups that were asked both ways
    paired = [ex for ex in follow if ex.answerable and f"{ex.id}:standalone" in answers]
    in_context = M.answer_correctness(paired, answers)["contains"]
    standalone = M.answer_correctness([e for e in alone if e.answerable], answers)["contains"]
    groups["follow_up_paired"] = {"contains": in_context}
    recalls = [v for v in rewrite_recall.values() if v is not None]
    groups["follow_up_standalone"]["rewrite_recall"] = M.MetricResult(
        "rewrite_recall", sum(recalls) / len(recalls) if recalls else None, rewrite_recall)
    for row in rows:
        for g in ("follow_up", "first"):
            c = groups[g]["contains"].per_question.get(row["id"])
            if c is not None:
                row["correct"] = c
        if not row["answerable"]:
            row["refused"] = M.is_refusal(row["answer"])
        if row["standalone_answer"] is not None:
            row["standalone_correct"] = groups["follow_up_standalone"]["contains"].per_question.get(
                f"{row['id']}:standalone")
            row["standalone_refused"] = M.is_refusal(row["standalone_answer"])
    headline = {
        "first_turn_contains": groups["first"]["contains"].score,
        "follow_up_contains": in_context.score,
        "standalone_contains": standalone.score,
        "follow_up_ratio": _ratio(in_context.score, standalone.score),
        "follow_up_refusal": groups["follow_up"]["refusal_accuracy"].score,
        "standalone_refusal": groups["follow_up_standalone"]["refusal_accuracy"].score,
        "follow_up_false_refusal": groups["follow_up"]["false_refusal"].score,
        "citation_precision": groups["all"]["citation_precision"].score,
        "quote_exact": groups["all"]["quote_exact"].score,
        "rewrite_recall": groups["follow_up_standalone"]["rewrite_recall"].score,
    }
    return ConversationMetrics(groups, headline, dict(sorted(methods.items())), rows)


# --- running --------------------------------------------------------------------------------------
@dataclass
class ConversationsRun:
    split: str
    generator: str
    items: list[ConversationItem]
    results: list[TurnResult]
    metrics: ConversationMetrics
    collections: dict[str, str]
    seconds: float
    started: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def run_conversations(service, split: str = "test", generator: str | None = None, top_k: int | None = None,
                      progress: bool = True, *, items: Sequence[ConversationItem] | None = None,
                      path: str | Path | None = None) -> ConversationsRun:
    """Index each corpus the conversations use (into the same eval collection `qa eval --dataset seed|docs`
    uses), run the conversations and score them."""
    from evals.datasets import Dataset
    from evals.progress import ProgressBar
    from evals.runner import ensure_indexed

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    items = list(items) if items is not None else load_conversations(path, split)
    if not items:
        raise InvalidInput(f"No conversations in split {split!r}. Pick another --split, or --split all.")
    t0 = time.perf_counter()
    collections, documents = {}, {}
    for corpus in dict.fromkeys(c.corpus for c in items):
        docs = CORPORA[corpus]()
        examples = [t.example for c in items if c.corpus == corpus for t in c.turns]
        collections[corpus] = ensure_indexed(service, Dataset(corpus, examples, docs), progress)
        documents.update({d.source: d.text for d in docs})
    generator = generator or service.config.generator
    bar = ProgressBar(len(items), f"conversations ({split})") if progress else None
    results = ask_conversations(service, items, collections, generator, top_k,
                                (lambda cid: bar.update(note=cid)) if bar else None)
    metrics = score_conversations(items, results, documents)
    counts = {"conversations": len(items), "turns": sum(len(c.turns) for c in items),
              "follow_ups": sum(len(c.turns) - 1 for c in items),
              "unanswerable_follow_ups": sum(not t.example.answerable for c in items for t in c.turns[1:])}
    return ConversationsRun(split, generator, items, results, metrics, collections, time.perf_counter() - t0,
                            started, counts)


# --- output ---------------------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


GROUP_COLUMNS = {"contains": "contains", "f1": "f1", "refusal_accuracy": "refuse_ok", "false_refusal": "false_ref",
                 "citation_precision": "cite_prec", "citation_recall": "cite_rec", "quote_exact": "quote_ex"}


def table(m: ConversationMetrics, markdown: bool = False) -> str:
    """One row per group of turns (first turns, follow-ups in context, the same follow-ups asked standalone)."""
    head = ["turns", "n"] + list(GROUP_COLUMNS.values())
    body = []
    for g in ("first", "follow_up", "follow_up_standalone", "all"):
        ms = m.groups[g]
        n = len(ms["contains"].per_question)
        body.append([g, str(n)] + [_fmt(ms[c].score) for c in GROUP_COLUMNS])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n"
    width = max(len(r[0]) for r in body) + 2
    out = [f"{head[0]:<{width}}" + "".join(f"{h:>11}" for h in head[1:])]
    out += [f"{r[0]:<{width}}" + "".join(f"{x:>11}" for x in r[1:]) for r in body]
    return "\n".join(out) + "\n"


def headline(m: ConversationMetrics) -> str:
    h = m.headline

    def ok(k: str) -> str:
        return "" if h[k] is None else f" (target >= {TARGETS[k]}: {'met' if h[k] >= TARGETS[k] else 'MISSED'})"

    return (f"follow-ups correct {_fmt(h['follow_up_contains'])} in context vs {_fmt(h['standalone_contains'])} asked "
            f"standalone: ratio {_fmt(h['follow_up_ratio'])}{ok('follow_up_ratio')}\n"
            f"unanswerable follow-ups refused {_fmt(h['follow_up_refusal'])}{ok('follow_up_refusal')} "
            f"(standalone {_fmt(h['standalone_refusal'])})\n"
            f"first turns correct {_fmt(h['first_turn_contains'])}; follow-ups falsely refused "
            f"{_fmt(h['follow_up_false_refusal'])}; citation precision {_fmt(h['citation_precision'])}; "
            f"quote exact {_fmt(h['quote_exact'])}\n"
            f"rewrite methods of the follow-ups: {', '.join(f'{k} {v}' for k, v in m.methods.items()) or '-'}; "
            f"words of the written standalone question in the one searched for: {_fmt(h['rewrite_recall'])}\n")


def _failures(m: ConversationMetrics) -> list[str]:
    out = []
    for r in m.rows:
        bad = (r["answerable"] and r.get("correct") == 0) or (not r["answerable"] and not r.get("refused", True))
        if not bad:
            continue
        a = r["answer"] or {}
        text = " ".join(str(a.get("answer", r["error"] or "")).split())[:240]
        alone = ""
        if r["standalone_answer"] is not None:
            refused = r.get("standalone_refused")
            if r["answerable"]:
                alone = f" | standalone: {'correct' if r.get('standalone_correct') else 'refused' if refused else 'wrong'}"
            else:
                alone = f" | standalone: {'refused' if refused else 'answered'}"
        out.append(f"- **{r['id']}** ({r['corpus']}, {'answerable' if r['answerable'] else 'unanswerable'}): "
                   f"{r['question']}\n  - written standalone: {r['standalone'] or '-'}\n"
                   f"  - searched for ({r['method']}): {r['searched_for']}\n"
                   f"  - answer ({'refused' if M.is_refusal(r['answer']) else 'given'}): {text}{alone}\n"
                   f"  - expected: {', '.join(r['answers']) or 'a refusal'}")
    return out


def write_conversations_report(result: ConversationsRun, out_dir: str | Path) -> list[Path]:
    """metrics.json, results.jsonl and report.md in `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = result.metrics
    metrics = {"dataset": "conversations", "split": result.split, "generator": result.generator,
               "started": result.started, "seconds": round(result.seconds, 2), "collections": result.collections,
               **result.counts, **m.to_dict()}
    paths = [out / "metrics.json", out / "results.jsonl", out / "report.md"]
    paths[0].write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    with paths[1].open("w", encoding="utf-8") as f:
        for row in m.rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    fails = _failures(m)
    md = [f"# Conversations ({result.split}, generator {result.generator})", "",
          f"{result.counts.get('conversations')} conversations, {result.counts.get('turns')} turns "
          f"({result.counts.get('follow_ups')} follow-ups, {result.counts.get('unanswerable_follow_ups')} unanswerable), "
          f"{result.seconds:.1f}s. Each conversation runs turn by turn in one `service.conversation()`; each "
          "follow-up's written standalone question is also asked alone. `contains` = an accepted answer appears in "
          "the answer; citation precision/recall are judged against the dataset's evidence.", "",
          "```", headline(m).rstrip(), "```", "", table(m, markdown=True),
          f"## Failures: {len(fails)}", "", *fails, ""]
    paths[2].write_text("\n".join(md), encoding="utf-8")
    return paths


def conversations_command(args) -> int:
    """`qa eval --dataset conversations [--split test|tune|all] [--generator G] [--top-k K] [--out DIR] [--home H]
    [--threads N] [--quiet]`."""
    import qa

    split = check_split(getattr(args, "split", None) or "test")
    service = qa.open(home=args.home, generator=args.generator, top_k=args.top_k, threads=args.threads,
                      without=args.without or None)
    result = run_conversations(service, split, args.generator, args.top_k, progress=not args.quiet)
    out = Path(args.out) if args.out else Path("runs") / f"conversations-{split}-{time.strftime('%Y%m%d-%H%M%S')}"
    paths = write_conversations_report(result, out)
    print(table(result.metrics) + "\n" + headline(result.metrics))
    print(f"{result.counts['conversations']} conversations ({split}, {result.generator}) took {result.seconds:.1f}s; "
          f"wrote {', '.join(str(p) for p in paths)}")
    return 0


__all__ = ["CONVERSATIONS_FILE", "ConversationItem", "ConversationMetrics", "ConversationTurn", "ConversationsRun",
           "TurnResult", "ask_conversations", "conversations_command", "headline", "load_conversations",
           "parse_conversation", "run_conversations", "score_conversations", "table", "write_conversations_report"]
