"""Metrics. Each takes the examples and what a system produced (answers in the JSON contract,
retrieved passages as dicts) and returns a `MetricResult`: the aggregate score and one score per
question (None where the metric does not apply to that question, e.g. refusal accuracy on an
answerable question). Aggregates are means over the questions that have a score.

Judges are independent of the judged: `citation_precision` / `citation_recall` compare citations with
the dataset's evidence spans (`gold_citations`), and `contradicted` checks answer sentences against the
gold evidence. The ALCE-style citation scores (Gao et al., 2023) computed with the pipeline's own
support scorer are reported only as `self_citation_recall`, `self_citation_precision` and
`self_grounding`: a pipeline judged by its own scorer reads 1.0 while its answers are wrong.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from evals.datasets import Example
from qa.answers import Passage
from qa.grounding import REFUSAL_MESSAGE, Grounder, answer_sentences, strip_markers

STAGES = ("retrieve", "generate", "verify", "total")


@dataclass(frozen=True)
class MetricResult:
    name: str
    score: float | None  # None when no question has a score
    per_question: dict[str, float | None] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(1 for v in self.per_question.values() if v is not None)


def _mean(name: str, per_question: dict[str, float | None]) -> MetricResult:
    values = [v for v in per_question.values() if v is not None]
    return MetricResult(name, float(np.mean(values)) if values else None, per_question)


def per_answer(examples: Sequence[Example], answers: dict[str, dict | None], score) -> dict[str, float | None]:
    """`score(example, answer)` for each question the system answered; None where it refused."""
    return {ex.id: (None if is_refusal(answers.get(ex.id)) else score(ex, answers[ex.id])) for ex in examples}


# --- text normalisation (SQuAD style) -------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’—–"})


def normalize(text: str) -> str:
    text = strip_markers(text)[0].lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def token_f1(prediction: str, reference: str) -> float:
    p, r = tokens(prediction), tokens(reference)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def token_recall(prediction: str, reference: str) -> float:
    p, r = tokens(prediction), tokens(reference)
    if not r:
        return 0.0
    return sum((Counter(p) & Counter(r)).values()) / len(r)


def contains(prediction: str, reference: str) -> float:
    """1.0 when the normalised reference occurs in the normalised prediction as whole words."""
    p, r = normalize(prediction), normalize(reference)
    return 1.0 if r and f" {r} " in f" {p} " else 0.0


# --- answer parsing -------------------------------------------------------------------------------
def is_refusal(answer: dict | None) -> bool:
    return answer is None or bool(answer.get("refused")) or answer.get("answer", "").strip() == REFUSAL_MESSAGE


@dataclass(frozen=True)
class AnswerSentence:
    text: str  # without markers
    cites: tuple[int, ...]  # citation numbers (the `n` of the answer's citations)


def answer_claims(answer: dict) -> list[AnswerSentence]:
    """The sentences of an answer with the citations each one names. An answer that lists citations
    but marks no sentence (e.g. a plain llama-index response with its source nodes) attributes every
    sentence to all of its citations."""
    known = [c["n"] for c in answer.get("citations") or []]
    out = []
    for piece in answer_sentences(answer.get("answer", "")):
        text, marks = strip_markers(piece)
        if text:
            out.append(AnswerSentence(text, tuple(dict.fromkeys(m for m in marks if m in known))))
    if known and out and not any(s.cites for s in out):
        out = [AnswerSentence(s.text, tuple(known)) for s in out]
    return out


# --- support --------------------------------------------------------------------------------------
class SupportScorer:
    """The grounder's claim-vs-evidence support score, as a judge: `support(claim, texts)` is the best
    support any sentence or adjacent sentence pair of `texts` gives the claim. `joined=True` puts the
    texts side by side in one passage, so a claim may be supported across two quotes (ALCE's
    concatenation of a sentence's citations)."""

    def __init__(self, grounder: Grounder):
        self.grounder = grounder
        self.threshold = grounder.calibration.support_threshold

    def support(self, claim: str, texts: Sequence[str], joined: bool = False) -> float:
        texts = [t for t in texts if t and t.strip()]
        if not texts or not claim.strip():
            return 0.0
        if joined:
            texts = [" ".join(texts)]
        passages = [Passage(n=i + 1, chunk_id="", doc_id="", source="", text=t, start=0, end=len(t), score=0.0)
                    for i, t in enumerate(texts)]
        evidence = self.grounder.evidence(passages)
        scores = evidence.scores(claim, self.grounder.encode([claim])[0])
        return float(scores.max()) if len(scores) else 0.0

    def supports(self, claim: str, texts: Sequence[str], joined: bool = False) -> bool:
        return self.support(claim, texts, joined) >= self.threshold


def _citation_scores(answer: dict, scorer: SupportScorer) -> tuple[float | None, float | None]:
    """(citation recall, citation precision) of one answer, ALCE style."""
    claims = answer_claims(answer)
    if not claims:
        return None, None
    quotes = {c["n"]: c.get("quote", "") for c in answer.get("citations") or []}
    supported = 0
    precise = total = 0
    for claim in claims:
        cited = [quotes[n] for n in claim.cites]
        whole = bool(cited) and scorer.supports(claim.text, cited, joined=True)
        supported += whole
        for i, n in enumerate(claim.cites):
            total += 1
            alone = scorer.supports(claim.text, [quotes[n]])
            if alone:
                precise += 1
            elif whole:
                # needed: the other citations without it no longer support the sentence
                rest = cited[:i] + cited[i + 1 :]
                precise += not (rest and scorer.supports(claim.text, rest, joined=True))
    return supported / len(claims), (precise / total if total else None)


# --- metrics --------------------------------------------------------------------------------------
def _relevant(example: Example, passage: dict) -> bool:
    if example.gold_sources:
        return passage.get("source") in example.gold_sources
    text = " ".join(passage.get("text", "").split())
    return any(" ".join(e.split()) in text for e in example.evidence)


def _retrievable(example: Example) -> bool:
    return example.answerable and bool(example.gold_sources or example.evidence)


def hit_at_k(examples: Sequence[Example], passages: dict[str, list[dict]], k: int) -> MetricResult:
    """Share of answerable questions with a gold passage (or evidence sentence) in the top k."""
    per = {}
    for ex in examples:
        if _retrievable(ex) and ex.id in passages:
            per[ex.id] = 1.0 if any(_relevant(ex, p) for p in passages[ex.id][:k]) else 0.0
        else:
            per[ex.id] = None
    return _mean(f"hit@{k}", per)


def mrr_at_k(examples: Sequence[Example], passages: dict[str, list[dict]], k: int = 10) -> MetricResult:
    """Mean reciprocal rank of the first relevant passage within the top k (0 when none)."""
    per = {}
    for ex in examples:
        if _retrievable(ex) and ex.id in passages:
            rank = next((i + 1 for i, p in enumerate(passages[ex.id][:k]) if _relevant(ex, p)), None)
            per[ex.id] = 1.0 / rank if rank else 0.0
        else:
            per[ex.id] = None
    return _mean(f"mrr@{k}", per)


def answer_correctness(examples: Sequence[Example], answers: dict[str, dict | None]) -> dict[str, MetricResult]:
    """Token F1, token recall and containment against the best-matching reference answer, on
    answerable questions. A refusal scores 0."""
    per: dict[str, dict[str, float | None]] = {"f1": {}, "recall": {}, "contains": {}}
    for ex in examples:
        if not ex.answerable or ex.id not in answers:
            for m in per:
                per[m][ex.id] = None
            continue
        a = answers[ex.id]
        text = "" if is_refusal(a) else " ".join(x for x in (a.get("short_answer"), a.get("answer", "")) if x)  # as shown
        per["f1"][ex.id] = max((token_f1(text, r) for r in ex.answers), default=0.0)
        per["recall"][ex.id] = max((token_recall(text, r) for r in ex.answers), default=0.0)
        per["contains"][ex.id] = max((contains(text, r) for r in ex.answers), default=0.0)
    return {m: _mean(m, v) for m, v in per.items()}


def citation_quality(examples: Sequence[Example], answers: dict[str, dict | None],
                     scorer: SupportScorer) -> dict[str, MetricResult]:
    """Citation recall (share of answer sentences their cited quotes support) and citation precision
    (share of citations that support their sentence, alone or as a needed part), on answers given."""
    recall, precision = {}, {}
    for ex in examples:
        a = answers.get(ex.id)
        if is_refusal(a):
            recall[ex.id] = precision[ex.id] = None
            continue
        recall[ex.id], precision[ex.id] = _citation_scores(a, scorer)
    return {"citation_recall": _mean("citation_recall", recall),
            "citation_precision": _mean("citation_precision", precision)}


def quote_exactness(examples: Sequence[Example], answers: dict[str, dict | None],
                    documents: dict[str, str]) -> MetricResult:
    """Share of citations whose quote is exactly the document text at [start:end]. Must be 1.0."""
    per = {}
    for ex in examples:
        cites = (answers.get(ex.id) or {}).get("citations") or []
        if not cites:
            per[ex.id] = None
            continue
        exact = 0
        for c in cites:
            doc = documents.get(c.get("source", ""))
            start, end = c.get("start"), c.get("end")
            exact += doc is not None and isinstance(start, int) and isinstance(end, int) and doc[start:end] == c.get("quote")
        per[ex.id] = exact / len(cites)
    return _mean("quote_exact", per)


def grounding_share(examples: Sequence[Example], answers: dict[str, dict | None], passages: dict[str, list[dict]],
                    scorer: SupportScorer) -> MetricResult:
    """Share of answer sentences that the passages the system retrieved support (its cited quotes when
    it reports no passages), on answers given."""
    def share(ex: Example, a: dict) -> float:
        claims = answer_claims(a)
        texts = [p.get("text", "") for p in passages.get(ex.id) or []] or [c.get("quote", "") for c in a.get("citations") or []]
        return (sum(scorer.supports(c.text, texts) for c in claims) / len(claims)) if claims else 0.0

    per = per_answer(examples, answers, share)
    return _mean("grounding", per)


def refusal_accuracy(examples: Sequence[Example], answers: dict[str, dict | None]) -> MetricResult:
    """Share of unanswerable questions refused."""
    return _mean("refusal_accuracy", {
        ex.id: (1.0 if is_refusal(answers[ex.id]) else 0.0) if not ex.answerable and ex.id in answers else None
        for ex in examples})


def false_refusal_rate(examples: Sequence[Example], answers: dict[str, dict | None]) -> MetricResult:
    """Share of answerable questions refused (lower is better)."""
    return _mean("false_refusal", {
        ex.id: (1.0 if is_refusal(answers[ex.id]) else 0.0) if ex.answerable and ex.id in answers else None
        for ex in examples})


def percentile(values: Iterable[float], q: float) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.percentile(values, q)) if values else None


def latency(examples: Sequence[Example], timings: dict[str, dict[str, float]]) -> dict[str, MetricResult]:
    """p50 and p95 of each stage's milliseconds; the per-question score is that question's time."""
    out = {}
    for stage in STAGES:
        per = {ex.id: (timings.get(ex.id) or {}).get(stage) for ex in examples}
        if all(v is None for v in per.values()):
            continue
        for q in (50, 95):
            name = f"latency_{stage}_p{q}"
            out[name] = MetricResult(name, percentile(per.values(), q), per)
    return out


# --- judges independent of the judged -------------------------------------------------------------
def _squash(text: str) -> str:
    return " ".join(text.split())


def gold_spans(example: Example, documents: dict[str, str]) -> list[tuple[str, int, int]]:
    """(source, start, end) of each evidence string of the example in the documents: exact first, then
    ignoring whitespace differences; searched in its gold sources when it names them, else everywhere."""
    if not example.evidence:
        return []
    sources = [s for s in example.gold_sources if s in documents] or list(documents)
    out = []
    for ev in example.evidence:
        ev = ev.strip()
        if not ev:
            continue
        found = False
        for src in sources:
            text = documents[src]
            i = text.find(ev)
            while i >= 0:
                out.append((src, i, i + len(ev)))
                found = True
                i = text.find(ev, i + 1)
        if not found:  # the same words, other whitespace
            pattern = re.compile(r"\s+".join(re.escape(w) for w in ev.split()))
            for src in sources:
                for m in pattern.finditer(documents[src]):
                    out.append((src, m.start(), m.end()))
    return out


def _overlaps(c: dict, spans: list[tuple[str, int, int]]) -> bool:
    s, e = c.get("start"), c.get("end")
    if not isinstance(s, int) or not isinstance(e, int):
        return False
    return any(c.get("source") == src and s < end and start < e for src, start, end in spans)


def gold_citations(examples: Sequence[Example], answers: dict[str, dict | None],
                   documents: dict[str, str]) -> dict[str, MetricResult]:
    """Citations judged against the dataset's evidence, not by the pipeline's own support scorer.
    citation_precision: share of an answer's citations whose quote overlaps a gold evidence span;
    citation_recall: 1 when at least one citation overlaps gold evidence. Both on answered answerable
    questions that have evidence."""
    precision, recall = {}, {}
    for ex in examples:
        a = answers.get(ex.id)
        spans = gold_spans(ex, documents) if ex.answerable else []
        cites = [] if is_refusal(a) else (a.get("citations") or [])
        if not spans or is_refusal(a):
            precision[ex.id] = recall[ex.id] = None
            continue
        hits = [_overlaps(c, spans) for c in cites]
        precision[ex.id] = (sum(hits) / len(hits)) if hits else 0.0
        recall[ex.id] = 1.0 if any(hits) else 0.0
    return {"citation_precision": _mean("citation_precision", precision),
            "citation_recall": _mean("citation_recall", recall)}


_ITEMS = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")


def _short_matches(short: str, references: Sequence[str]) -> bool:
    """Equal to a reference (normalised), or holding one as whole words with at most three more words; a list
    ("`Content-Length`, `Last-Modified` and `ETag`") when one of its items is a reference (an asked-for set)."""
    s = normalize(short)
    if any(s == normalize(r) or (contains(short, r) and len(s.split()) <= len(normalize(r).split()) + 3)
           for r in references):
        return True
    items = [normalize(x) for x in _ITEMS.split(short) if x.strip()]
    return len(items) > 1 and any(normalize(r) in items for r in references)


def short_answer_exact(examples: Sequence[Example], answers: dict[str, dict | None]) -> MetricResult:
    """On answerable questions where the system gave a `short_answer`: 1 when it equals a reference answer
    (normalised) or contains one as whole words and adds at most three words, or is a list with a reference
    among its items."""
    per = {}
    for ex in examples:
        a = answers.get(ex.id)
        short = (a or {}).get("short_answer") if not is_refusal(a) else None
        if not ex.answerable or not ex.answers or not short:
            per[ex.id] = None
            continue
        per[ex.id] = 1.0 if _short_matches(short, ex.answers) else 0.0
    return _mean("short_answer_exact", per)


def short_answer_correct(examples: Sequence[Example], answers: dict[str, dict | None]) -> MetricResult:
    """On every answerable question: 1 when the system's `short_answer` matches a reference answer (as in
    short_answer_exact), 0 when it is wrong, missing or the question was refused. For comparison and yes/no
    questions, whose answer is the winning side or Yes/No, this is the accuracy."""
    per = {}
    for ex in examples:
        if not ex.answerable or not ex.answers or ex.id not in answers:
            per[ex.id] = None
            continue
        a = answers.get(ex.id)
        short = (a or {}).get("short_answer") if not is_refusal(a) else None
        per[ex.id] = 1.0 if short and _short_matches(short, ex.answers) else 0.0
    return _mean("short_answer_correct", per)


_MARKUP = re.compile(r"(^|\s)#{1,6}\s|```|~~~|^\s*[-*+]\s|\s[-*+]\s{1,3}\S.*\[\d+\]$|^\s*\|.*\|\s*$|<[a-z][^>]*>", re.M)


def sentences_are_quotes(examples: Sequence[Example], answers: dict[str, dict | None]) -> MetricResult:
    """On extractive answers (the extractive generator, or a generated answer that fell back to it): 1 when
    every sentence of the answer is exactly the quote it cites (one quoted span: a sentence or an adjacent pair
    the program located), never a concatenation of fragments; None for other answers and refusals."""
    per = {}
    for ex in examples:
        a = answers.get(ex.id)
        if not a or is_refusal(a) or not (a.get("generator") == "extractive" or a.get("fallback") == "extractive"):
            per[ex.id] = None
            continue
        quotes = {c["n"]: c["quote"] for c in a.get("citations", [])}
        kept = [s for s in a.get("sentences", []) if s.get("supported") and s.get("relevant", True)]
        per[ex.id] = 1.0 if kept and all(len(s["citations"]) == 1 and quotes.get(s["citations"][0]) == s["text"]
                                         for s in kept) else 0.0
    return _mean("sentences_are_quotes", per)


def markup_free(examples: Sequence[Example], answers: dict[str, dict | None]) -> MetricResult:
    """Share of answers given whose sentences carry no Markdown or HTML syntax (heading marks, code fences,
    list bullets, table pipes, tags)."""
    per = per_answer(examples, answers,
                     lambda ex, a: 0.0 if any(_MARKUP.search(c.text) for c in answer_claims(a)) else 1.0)
    return _mean("markup_free", per)


MISMATCH_REASONS = frozenset({"role_mismatch", "object_mismatch", "negation", "number_mismatch", "entity_mismatch"})


def contradicted(examples: Sequence[Example], answers: dict[str, dict | None], documents: dict[str, str],
                 check) -> MetricResult:
    """Per answered answerable question: 1 when a sentence of the answer, checked claim by claim against the
    gold evidence and its own quotes (`check(claim, passages, question)` -> ClaimCheck), is contradicted
    (a role, object, negation, number or entity mismatch), else 0. Lower is better."""
    per = {}
    for ex in examples:
        a = answers.get(ex.id)
        if not ex.answerable or is_refusal(a) or not ex.evidence:
            per[ex.id] = None
            continue
        quotes = [c.get("quote", "") for c in a.get("citations") or []]
        passages = list(dict.fromkeys([e for e in ex.evidence if e.strip()] + [q for q in quotes if q.strip()]))
        bad = 0.0
        for claim in answer_claims(a):
            verdict = check(claim.text, passages, ex.question)
            if not verdict.supported and verdict.reason in MISMATCH_REASONS:
                bad = 1.0
                break
        per[ex.id] = bad
    return _mean("contradicted", per)
