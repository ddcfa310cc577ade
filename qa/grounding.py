"""Grounding: the service, not the model, decides what an answer may say.

- `Evidence` splits the retrieved passages into sentence spans (single sentences and adjacent
  pairs) with exact document offsets, and embeds them once.
- `support()` scores a claim against a span: recall of the claim's content words in the span,
  combined with embedding similarity. Fast (vector math only, after one batched encode).
- `Grounder.verify()` splits a generated answer into sentences, scores each, repairs its
  citation markers and picks the exact quote that supports it.
- `Grounder.answerability()` is the refusal model: a logistic score over several signals
  (question-term coverage of the best sentence, dense similarity, missing names and numbers,
  the retrieval score and margin), with weights and threshold from `calibration.json`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from index.chunking import sentence_spans
from index.structure import SECTION_SEP
from index.instructions import instruction_spans, overlaps, without
from qa.answers import Citation, Passage, SentenceReport
from qa.decisions import RULES, Switches, first_refusal, question_entities
from qa.short_answer import (KIND_LABELS, VERSION_NUMBER, asks_for_thing, asks_version, expected, short_answer,
                             version_from_headings)
from qa.compare import Outcome, answered_sides, comparison, decide as decide_comparison
from qa import disagreement, relations
from qa.hops import PARAMS as HOP_PARAMS
from index.linguistics import Annotation, AnnotationStore, Annotator, default_annotator
from qa.terms import (AUXILIARIES, PRONOUNS, QUESTION_WORDS, content_terms, expected_type, has_type, negated, normalize,
                      proximity, salient_terms, stem, term, wh_phrase_terms, words, focus_clause)

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors, one row each

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# "(1)", "[source 2]": a small model's marker; a bare number in parentheses is one only up to two digits ("(1967)" is
# a year of the quote, not a marker)
_LOOSE_MARKER = re.compile(r"\s*(?:[\[(](?:passage|source|doc(?:ument)?)\s*\d+(?:\s*[,;]\s*\d+)*[\])]"
                           r"|\(\d{1,2}(?:\s*[,;]\s*\d{1,2})*\))", re.I)
_MARKER_THEN = re.compile(r"(?<=\])\s+(?=\S)")
_SENTENCE_START = re.compile(r"[A-Z\"“‘`'(]")  # "... [1] The next quote": a sentence ends there
_ENDS_WITH_MARKER = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]$")
_INTRODUCES = re.compile(r":\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+$")  # "... register it: [1]" + the code it introduces
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
REFUSAL_MESSAGE = "Your documents do not contain an answer to this question."

W_LEX, W_DENSE = 0.6, 0.4  # claim support = W_LEX * term recall + W_DENSE * cosine ...
LONG_SENTENCE_WORDS = 20  # sentences longer than this are also embedded clause by clause
_CLAUSE = re.compile(r"\s*[,;:—–]\s+|\s+[—–]\s*")
PAIR_PENALTY = 0.05  # ... minus this for a two-sentence quote,
NAME_PENALTY, NAME_PENALTY_CAP = 0.3, 0.6  # ... minus this for each name or number missing from the quote (capped),
NEGATION_PENALTY = 0.6  # ... minus this when one of claim and quote is negated and the other is not,
_FILLERS = frozenset("the a an of to in on at by for with and or is are was were be been it its this that".split())
CODE_WEIGHT = 0.7  # extractive picking: a code block's match counts this much, unless the question asks how to do
HOW_TO = re.compile(r"^\s*(?:how (?:do|can|could|should|would|to)\b|show me\b)|\bexample\b|\bsnippet\b", re.I)
NUMBER_PENALTY = 0.5  # ... minus this when a number in the claim is not in the quote (numbers are exact facts).


@dataclass(frozen=True)
class PickParams:
    """Extractive picking (`Grounder.pick`), measured on the docs tune split."""

    changelog_weight: float = 0.8  # a sentence under a version heading ("## 0.45.0 (December 29, 2024)") counts this
    # much unless the question asks about versions (`changelog`)
    # how well a sentence answers a question (`Grounder._match`): these weights of the share of the question's terms
    # it has, its embedding similarity with the question, and that share times how close together the terms are
    w_coverage: float = 0.4
    w_dense: float = 0.3
    w_proximity: float = 0.3
    answer_type_bonus: float = 0.3  # a sentence naming an entity of the kind the question asks for (who -> PERSON,
    # when -> DATE, where -> GPE/LOC/FAC, how many -> CARDINAL...) that the question does not name counts this much more


PICK = PickParams()
_VERSION_HEADING = re.compile(r"(?:^|›\s*)v?\d+\.\d+")  # a section path component that starts with a version number
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")  # inline HTML in Markdown prose ("<a href=...>GitHub</a>")
_ASKS_VERSION = re.compile(r"\bversions?\b|\breleases?\b|\bchangelog\b|\d+\.\d+", re.I)


@dataclass(frozen=True)
class Span:
    passage: int  # the passage's n
    start: int  # document offsets
    end: int
    text: str
    terms: frozenset
    parts: tuple[int, ...]  # indices of the sentence vectors this span is made of
    names: frozenset = frozenset()  # salient terms: names and numbers
    negated: bool = False
    code: bool = False  # a code block (index/structure.py units), quoted whole


@dataclass
class Evidence:
    passages: list[Passage]
    spans: list[Span]  # singles first, then adjacent pairs
    vectors: np.ndarray  # one row per single sentence
    all_terms: frozenset
    clause_vectors: np.ndarray = None  # clauses of long sentences, so a long sentence is not diluted ...
    clause_owner: np.ndarray = None  # ... each row's single-sentence index
    annotator: Annotator | None = None  # spaCy annotations for the relation check (default: the shared one) ...
    annotation_store: AnnotationStore | None = None  # ... kept here when set (a collection's manifest) ...
    _annotations: dict = field(default_factory=dict, repr=False)  # ... made on first use: passage n (and span) -> Annotation
    # sentences addressed to an assistant (index/instructions.py), document offsets per passage n: never a span
    instructions: dict = field(default_factory=dict)

    @classmethod
    def build(cls, passages: Sequence[Passage], encode: Encode,
              instructions: dict[int, list[tuple[int, int]]] | None = None) -> "Evidence":
        """`instructions`: document spans per passage n of sentences marked as instructions; the sentences of
        the passages that overlap them are left out (never quoted, never support a claim, never paired)."""
        instructions = {n: list(v) for n, v in (instructions or {}).items() if v}
        singles: list[Span] = []
        follows: set[int] = set()  # singles that come right after the one before them in their passage
        for p in passages:
            code = {(a, b) for a, b, kind in (p.units or ()) if kind == "code"}
            previous = False
            for s in sentence_spans(p.text, units=p.units):
                text = p.text[s.start : s.end]
                if overlaps(p.start + s.start, p.start + s.end, instructions.get(p.n, ())):
                    previous = False
                    continue
                if previous:
                    follows.add(len(singles))
                previous = True
                singles.append(Span(p.n, p.start + s.start, p.start + s.end, text, frozenset(content_terms(text)),
                                    (len(singles),), frozenset(salient_terms(text)), negated(text),
                                    (s.start, s.end) in code))
        clauses, owners = [], []
        for i, span in enumerate(singles):
            if len(span.text.split()) > LONG_SENTENCE_WORDS:
                for piece in _CLAUSE.split(span.text):
                    if len(piece.split()) >= 4:
                        clauses.append(piece)
                        owners.append(i)
        encoded = encode([s.text for s in singles] + clauses) if singles else np.zeros((0, 1))
        vectors, clause_vectors = encoded[: len(singles)], encoded[len(singles) :]
        # list items and table rows are facts of their own (one parameter each): never paired into one quote
        items = {(p.n, p.start + a, p.start + b) for p in passages for a, b, kind in (p.units or ())
                 if kind in ("list_item", "table_row")}
        pairs = []
        for i, (a, b) in enumerate(zip(singles, singles[1:])):
            if a.passage == b.passage and (i + 1) in follows and (b.passage, b.start, b.end) not in items \
                    and (a.passage, a.start, a.end) not in items:
                p = next(x for x in passages if x.n == a.passage)
                text = p.text[a.start - p.start : b.end - p.start]
                pairs.append(Span(a.passage, a.start, b.end, text, a.terms | b.terms, a.parts + b.parts,
                                  a.names | b.names, a.negated or b.negated, a.code or b.code))
        # what the passages mention, their documents' titles included (a paragraph titled "Rod Laver" is about him)
        all_terms = frozenset().union(*(content_terms(f"{p.title}\n" + without(p.text, _relative(p, instructions.get(p.n, ()))))
                                        for p in passages)) if passages else frozenset()
        return cls(list(passages), singles + pairs, np.asarray(vectors, dtype=np.float32), all_terms,
                   np.asarray(clause_vectors, dtype=np.float32), np.asarray(owners, dtype=int),
                   instructions=instructions)

    def for_generator(self) -> list[Passage]:
        """The passages as a generator may see them: the sentences marked as instructions left out."""
        return [replace(p, text=without(p.text, _relative(p, self.instructions[p.n]))) if self.instructions.get(p.n)
                else p for p in self.passages]

    def dense(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of `vector` with each single sentence, or with its best clause when that is higher."""
        sims = np.clip(self.vectors @ vector, 0.0, 1.0)
        if self.clause_vectors is not None and len(self.clause_owner):
            np.maximum.at(sims, self.clause_owner, np.clip(self.clause_vectors @ vector, 0.0, 1.0))
        return sims

    def passage(self, n: int) -> Passage | None:
        return next((p for p in self.passages if p.n == n), None)

    def _annotator(self) -> Annotator:
        return self.annotator or default_annotator()

    def annotate_claims(self, sentences: Sequence[str]) -> list[Annotation]:
        """Annotations of an answer's sentences: the answer is parsed as one text (so "He said ..." knows who
        he is from the sentence before), then cut into one view per sentence."""
        whole = self._annotator().annotate(" ".join(sentences))
        out, at = [], 0
        for s in sentences:
            out.append(whole.view(at, at + len(s)))
            at += len(s) + 1
        return out

    def span_annotation(self, i: int) -> Annotation:
        """The annotation of span i: a view of its passage's annotation (every passage parsed once, all
        together, on first use; pronouns resolved over the whole passage)."""
        if not self._annotations:
            anns = self._annotator().annotate_many([p.text for p in self.passages], self.annotation_store)
            self._annotations.update({p.n: a for p, a in zip(self.passages, anns)})
        if ("span", i) not in self._annotations:
            span = self.spans[i]
            p = self.passage(span.passage)
            self._annotations[("span", i)] = self._annotations[span.passage].view(span.start - p.start, span.end - p.start)
        return self._annotations[("span", i)]

    def scores(self, claim: str, vector: np.ndarray) -> np.ndarray:
        """Support of a claim (its text and unit vector) by every span, in 0..1."""
        return self.priors(claim, vector)[0]

    def priors(self, claim: str, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(`scores`, the same without its penalties) from one pass over the spans. Without penalties: word
        overlap and cosine only, without the bag-of-words stand-ins for names, numbers and negation (what the
        relation check reads from the parse: `relations.firm`)."""
        if not self.spans:
            return np.zeros(0), np.zeros(0)
        terms, names, neg = content_terms(claim), salient_terms(claim), negated(claim)
        dense_single = self.dense(vector)
        out, raw = np.empty(len(self.spans)), np.empty(len(self.spans))
        for i, span in enumerate(self.spans):
            lex = len(terms & span.terms) / len(terms) if terms else 0.0
            dense = max(dense_single[j] for j in span.parts)
            score = W_LEX * lex + W_DENSE * dense
            if len(span.parts) > 1:
                score -= PAIR_PENALTY
            raw[i] = max(0.0, score)
            if names:
                missing = names - span.terms
                score -= min(NAME_PENALTY_CAP, NAME_PENALTY * len(missing))
                if any(t[0].isdigit() for t in missing):
                    score -= NUMBER_PENALTY
            if neg != span.negated:
                score -= NEGATION_PENALTY
            out[i] = max(0.0, score)
        return out, raw


@dataclass(frozen=True)
class Calibration:
    """The refusal model: p(answerable) = sigmoid(bias + sum(weights[f] * features[f]))."""

    weights: dict[str, float]
    bias: float
    threshold: float  # answer when p >= threshold
    support_threshold: float  # a sentence is supported when its support >= this
    version: str = "default"
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> "Calibration":
        data = json.loads(Path(path).read_text())
        return cls(
            weights=data["weights"], bias=data["bias"], threshold=data["threshold"],
            support_threshold=data["support_threshold"], version=data.get("version", "unknown"), meta=data,
        )

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class Decision:
    answerable: bool
    probability: float
    features: dict[str, float]
    unmentioned: list[str]  # the question's names and numbers no passage mentions, when that decided it
    rule: str | None = None  # the refusal rule that fired (qa/decisions.py), None when answerable
    compared: "Outcome | None" = None  # a comparison question's outcome (qa/compare.py), when it is one

    @property
    def reason(self) -> str | None:
        """The documented refusal_reason code of the rule that fired."""
        return RULES[self.rule][0].reason if self.rule else None

    def refusal_message(self) -> str:
        if self.rule == "unmentioned" and self.unmentioned:
            return f"{REFUSAL_MESSAGE} The passages found do not mention {', '.join(self.unmentioned)}."
        return REFUSAL_MESSAGE


@dataclass
class Verified:
    """One sentence of a generated answer after verification."""

    text: str  # without markers
    support: float
    supported: bool
    span: Span | None  # the quote that supports it best
    claimed: list[int]  # passage numbers the model cited
    relevance: float = 0.0  # share of the question's terms the sentence and its quote cover
    relevant: bool = True  # False for a supported sentence far less on-topic than the answer's best
    reason: str = ""  # "supported" or why not: a qa.relations.REASONS code ("role_mismatch", "negation", ...)

    @property
    def kept(self) -> bool:
        return self.supported and self.relevant


@dataclass
class Grounded:
    answer: str
    citations: list[Citation]
    sentences: list[SentenceReport]
    grounding: float


def strip_markers(text: str) -> tuple[str, list[int]]:
    found: list[int] = []
    for m in MARKER.finditer(text):
        found.extend(int(x) for x in re.split(r"[,;]", m.group(1)))
    text = _LOOSE_MARKER.sub("", MARKER.sub("", text))
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip(), found


def answer_sentences(text: str) -> list[str]:
    """Sentences of a generated answer, each keeping the markers that follow it."""
    text = text.strip()
    out: list[str] = []
    pieces = []
    for s in sentence_spans(text):  # a citation marker followed by a new sentence ends one ("... [1] The next"),
        at = s.start  # and so does one after a colon: what follows is the example it introduces ("... as follows: [1] x = 1")
        for m in _MARKER_THEN.finditer(text, s.start, s.end):
            if _ENDS_WITH_MARKER.search(text, at, m.start()) and (
                    _SENTENCE_START.match(text, m.end()) or _INTRODUCES.search(text, at, m.start())):
                pieces.append(text[at:m.start()])
                at = m.end()
        pieces.append(text[at:s.end])
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if out and lead:  # markers after a full stop belong to the sentence before them
            out[-1] += " " + lead.group().strip()
            piece = piece[lead.end() :].strip()
        if piece:
            out.append(piece)
    return out


class Grounder:
    def __init__(self, encode: Encode, calibration: Calibration | None = None, switches: Switches | None = None):
        self.encode = encode
        self.calibration = calibration or Calibration.load()
        self.switches = switches or Switches()

    def evidence(self, passages: Sequence[Passage], annotation_store: AnnotationStore | None = None) -> Evidence:
        """The passages split into sentence spans; sentences addressed to an assistant (index/instructions.py,
        the `instructions` unit) are marked and left out."""
        marked = {}
        if self.switches.on("instructions") and passages:
            found = instruction_spans([p.text for p in passages], store=annotation_store)
            marked = {p.n: [(p.start + f.start, p.start + f.end) for f in fs] for p, fs in zip(passages, found) if fs}
        evidence = Evidence.build(passages, self.encode, marked)
        evidence.annotation_store = annotation_store
        return evidence

    # --- refusal -------------------------------------------------------------------------------
    def features(self, question: str, evidence: Evidence) -> dict[str, float]:
        q_terms = content_terms(question)
        q_salient = salient_terms(question)
        feats = {"q_cov": 0.0, "q_dense": 0.0, "best": 0.0, "missing_salient": 0.0, "top_score": 0.0, "margin": 0.0,
                 "type_missing": 0.0, "answer_found": 0.0}
        entities = question_entities(question)
        if not evidence.spans:
            feats["missing_salient"] = 1.0 if entities else 0.0
            return feats
        qv = self.encode([question])[0]
        dense = evidence.dense(qv)
        best_cov = best_dense = best = 0.0
        best_span = evidence.spans[0]
        for span in evidence.spans:
            cov = len(q_terms & span.terms) / len(q_terms) if q_terms else 0.0
            d = max(dense[j] for j in span.parts)
            best_cov, best_dense = max(best_cov, cov), max(best_dense, d)
            match = self._match(q_terms, span, d) - (PAIR_PENALTY if len(span.parts) > 1 else 0.0)
            if match > best:
                best, best_span = match, span
        kind = expected_type(question)
        feats["type_missing"] = 1.0 if kind and not has_type(best_span.text, kind, question) else 0.0
        scores = [p.score for p in evidence.passages]
        missing = [e for e in entities if not content_terms(e) <= evidence.all_terms]
        if asks_for_thing(question):  # a phrase of the expected kind in the sentences the answer would quote
            picked = self.pick(question, evidence, 2)
            feats["answer_found"] = 1.0 if self.lead(question, evidence, [(s.text, s.passage, s.start) for s in picked]) else 0.0
        else:
            feats["answer_found"] = 0.5  # an explanation: nothing to look for
        feats.update(
            q_cov=best_cov, q_dense=float(best_dense), best=float(best),
            missing_salient=(len(missing) / len(entities)) if entities else 0.0,
            top_score=max(scores), margin=(scores[0] - scores[1]) if len(scores) > 1 else scores[0],
        )
        return feats

    @staticmethod
    def lead(question: str, evidence: Evidence, quotes: Sequence[tuple[str, int, int]]) -> str | None:
        """The short answer the quotes (text, passage, start) give (qa/short_answer.py); for "Which version ...?", the
        release a cited changelog entry is under when the quotes name none."""
        found = short_answer(question, [text for text, _, _ in quotes])
        if asks_version(question) and not (found and VERSION_NUMBER.search(found)):  # a release is a number, not
            found = version_from_headings([heading_path(evidence, n, start) for _, n, start in quotes])  # `__version__`
        return found

    def answerability(self, question: str, evidence: Evidence) -> tuple[float, dict[str, float]]:
        feats = self.features(question, evidence)
        used = {k: (v if self.switches.on(k) else 0.0) for k, v in feats.items()}  # a switched-off feature adds nothing
        return self.calibration.probability(used), feats

    def decide(self, question: str, evidence: Evidence) -> "Decision":
        """Whether the passages can answer, decided before any generation: the first refusal rule of
        qa/decisions.py that fires (and is switched on) refuses; its name and reason go into the answer."""
        p, feats = self.answerability(question, evidence)
        unmentioned = [e for e in question_entities(question) if not content_terms(e) <= evidence.all_terms]
        outcome = None
        if self.switches.on("compare") or self.switches.on("comparison"):
            cmp = comparison(question)
            outcome = decide_comparison(cmp, evidence) if cmp else None
        compared = outcome if self.switches.on("compare") else None  # answered from one quote per side
        low = p < self.calibration.threshold and not (compared and compared.short_answer)  # a decided comparison
        rule = first_refusal(question, evidence, self.switches, {
            "answerability": low, "unmentioned": bool(unmentioned), "comparison": bool(outcome and outcome.missing)})
        return Decision(rule is None, p, feats, unmentioned, rule, compared)

    # --- verification and repair ---------------------------------------------------------------
    def verify(self, raw: str, evidence: Evidence, question: str = "", filter_relevance: bool = True) -> list[Verified]:
        """Each sentence of `raw` with its support and best quote. With `filter_relevance`, a supported sentence
        far less on-topic than the answer's best is dropped (a model's digressions); extractive answers, whose
        sentences were chosen for the question, keep them all."""
        pieces, seen = [], set()
        for sentence in answer_sentences(raw):
            text, markers = strip_markers(sentence)
            if text and text.lower() not in seen:  # small models repeat themselves
                seen.add(text.lower())
                pieces.append((text, markers))
        if not pieces:
            return []
        vectors = self.encode([t for t, _ in pieces])
        q_terms = content_terms(question)
        threshold = self.calibration.support_threshold
        use_relations = self.switches.on("relations") and bool(evidence.spans)
        claim_anns = evidence.annotate_claims([t for t, _ in pieces]) if use_relations else [None] * len(pieces)
        contexts = _contexts(evidence) if use_relations and self.switches.on("context") else {}
        out = []
        for (text, claimed), vec, claim_ann in zip(pieces, vectors, claim_anns):
            terms = content_terms(text)
            if not terms or not evidence.spans or _looping(text):
                out.append(Verified(text, 0.0, False, None, claimed, reason="not_found"))
                continue
            scores, raw = evidence.priors(text, vec)
            if contexts:
                scores = _context_scores(text, scores, evidence, contexts)
            best = int(np.argmax(scores))
            chosen = best
            # Keep the model's own marker when the passage it names supports the claim about as well.
            for n in claimed:
                idx = [i for i, s in enumerate(evidence.spans) if s.passage == n]
                if idx:
                    i = max(idx, key=lambda k: scores[k])
                    if scores[i] >= threshold and scores[i] >= scores[best] - 0.05:
                        chosen = i
                        break
            supported = bool(scores[chosen] >= threshold)
            reason = "supported" if supported else "not_found"
            if claim_ann is not None:
                if contexts:
                    raw = _context_scores(text, raw, evidence, contexts)
                chosen, supported, reason = self._relation_check(claim_ann, evidence, scores, chosen, threshold, contexts,
                                                                 raw=raw)
                if not supported and reason in relations.PARAMS.clause_reasons and self.switches.on("clauses") \
                        and self._clauses_supported(claim_ann, evidence, threshold, relations.PARAMS.clause_depth,
                                                    contexts):
                    supported, reason = True, "supported"
                elif supported and relations.PARAMS.clauses_always and self.switches.on("clauses") \
                        and not relations.verbatim(text, evidence.spans[chosen].text) \
                        and relations.clauses(claim_ann, relations.PARAMS) \
                        and not self._clauses_supported(claim_ann, evidence, threshold, 1, contexts, quote=chosen):
                    supported, reason = False, "not_found"
            span = evidence.spans[chosen]
            support = float(scores[chosen])
            relevance = len(q_terms & (terms | span.terms)) / len(q_terms) if q_terms else 0.0
            out.append(Verified(text, support, supported, span, claimed, relevance, reason=reason))
        best = max((v.relevance for v in out if v.supported), default=0.0)
        filter_relevance = filter_relevance and self.switches.on("relevance_filter")
        for v in out:
            v.relevant = not filter_relevance or (v.relevance >= 0.75 * best and (best == 0.0 or v.relevance > 0.0))
        return out

    def _clauses_supported(self, claim: Annotation, evidence: Evidence, threshold: float, depth: int,
                           contexts: dict | None = None, quote: int | None = None) -> bool:
        """A claim stitched from clauses that no one sentence holds ("X is from Hiroshima, the city the bomb
        targeted"): supported when each of its clauses (`relations.clauses`) is, each by its own best quote of
        any passage (the prior and the relation check as for a whole sentence; a clause missing a name or
        unfound is split again, `depth` levels). A clause that a quote contradicts is never supported. With `quote`
        (the whole claim's quote) and `clause_verbs`: a relative clause whose verb that quote lacks is said by it only
        with the verb told, and a clause it does not say needs its verb told by another quote (not the prior alone)."""
        pieces = relations.clauses(claim, relations.PARAMS) if depth > 0 else []
        if not pieces:
            return False
        anns = evidence._annotator().annotate_many(pieces)
        strict = replace(relations.PARAMS, require_verb=True)
        told = evidence.span_annotation(quote) if quote is not None else None
        told_lemmas = {t.lemma.lower() for t in told.tokens} if told is not None else set()
        for piece, ann, vec in zip(pieces, anns, self.encode(pieces)):
            said = strict if relations.PARAMS.clause_verbs and told is not None \
                and relations.relative_verbs(ann) - told_lemmas else relations.PARAMS
            if told is not None and relations.check(ann, [told], None, said)[0]:
                continue  # the whole claim's quote says this part too
            scores = evidence.scores(piece, vec)
            if contexts:
                scores = _context_scores(piece, scores, evidence, contexts)
            _, ok, why = self._relation_check(ann, evidence, scores, int(np.argmax(scores)), threshold, contexts,
                                              by_prior=quote is None or not relations.PARAMS.clause_verbs)
            if not ok and not (why in relations.PARAMS.clause_reasons
                               and self._clauses_supported(ann, evidence, threshold, depth - 1, contexts)):
                return False
        return True

    @staticmethod
    def _relation_check(claim: Annotation, evidence: Evidence, scores: np.ndarray, chosen: int,
                        threshold: float, contexts: dict | None = None,
                        raw: np.ndarray | None = None, by_prior: bool = True) -> tuple[int, bool, str]:
        """(span, supported, reason) by the relation check (qa/relations.py). The chosen span and the next best by
        the prior (within `span_margin` of the best, at most `top_spans`) are tried in turn: the first that clears
        the prior's threshold and matches the claim's verbs with their participants supports it. When the chosen
        span clears it without having the claim's verbs at all (a paraphrase), the claim is supported unless
        another sentence of the passages tells the same event otherwise (`relations.contradiction`).
        Unsupported: the reason the chosen span gives. `contexts` (`_contexts`): the heading and list lead-in a
        span is read under are checked with it (they name what a subjectless "Uses a 307 status code" is about).
        `raw`: the prior without its penalties (`Evidence.priors`); a span that tells every core
        triple of the claim as the claim does (`relations.firm`) supports it from `firm_min_prior` of it up, and
        the best spans by it are tried too: the penalties only stand in for the names, numbers and negation that
        the relation check reads from the parse ("eleven" for "11", "she" for "Marie Curie", another clause's
        "not"). `by_prior` False: a span without the claim's verbs never supports it (a clause of a sentence)."""
        params = relations.PARAMS
        strict = replace(params, require_verb=True)
        top = float(scores.max())
        order = [chosen] + [int(i) for i in np.argsort(-scores, kind="stable")[: params.top_spans]
                            if int(i) != chosen and scores[i] >= max(threshold, top - params.span_margin)]
        prior = scores if raw is None else raw
        order += [int(i) for i in np.argsort(-prior, kind="stable")[: params.top_spans]
                  if int(i) not in order and prior[i] >= params.firm_min_prior]
        reason, loose = None, None
        for rank, i in enumerate(order):
            heads, leads = (contexts or {}).get(i, ((), ()))
            ann = [evidence.span_annotation(i)] + [evidence.span_annotation(j) for j in leads]
            names = [evidence.span_annotation(j) for j in heads]
            told = evidence._annotations[evidence.spans[i].passage].triples  # its passage's "X is a Y" (made above)
            ok, why = relations.check(claim, ann, float(scores[i]), strict, context=names, passage=told)
            if ok and (scores[i] >= threshold or prior[i] >= params.firm_min_prior
                       and relations.firm(claim, ann, params, passage=told)):
                return i, True, "supported"
            if rank == 0:
                if why == "not_found" and by_prior:  # no verb of the claim in it: the prior decides, unless contradicted
                    ok, why = relations.check(claim, ann, float(scores[i]), params, context=names, passage=told)
                    loose = i if ok and scores[i] >= threshold else None
                reason = why if not ok else "not_found"
        # the passages telling the claim's event otherwise: why a loosely supported claim is not, and the most
        # telling reason for an unsupported one (its best quote by the prior may be another sentence)
        singles = [evidence.span_annotation(j) for j, s in enumerate(evidence.spans)
                   if len(s.parts) == 1 and scores[j] >= threshold - params.contradiction_margin]
        contra = relations.contradiction(claim, singles, params)
        if loose is not None:
            return (chosen, False, contra) if contra else (loose, True, "supported")
        return chosen, False, contra or reason or "not_found"

    def needs_fallback(self, verified: list[Verified], extract: list[Verified], question: str, evidence: Evidence) -> bool:
        """Whether a generated answer should give way to the extractive one: nothing of it is kept; its
        sentences are far less on-topic; most of its sentences are unsupported (a model making things up is not
        trusted in its lucky sentences either); it only restates the question (no content word the question
        lacks); or it disagrees with the extractive answer: none of its quotes holds a sentence that answers the
        question nearly as well as the best one (a small model citing a neighbouring sentence for a claim it
        does not make)."""
        kept = [v for v in verified if v.kept]
        if not kept:
            return True
        best_relevance = max((v.relevance for v in extract), default=0.0)
        if max(v.relevance for v in kept) < 0.75 * best_relevance:
            return True
        if sum(1 for v in verified if v.supported) < 0.5 * len(verified):
            return True
        asked = {stem(w) for w in words(normalize(question))} | _FILLERS
        if all({stem(w) for w in words(normalize(v.text))} <= asked for v in kept):
            return True  # ("against" and "not" are answers too: every word counts but these)
        if not self.switches.on("agreement_fallback"):
            return False
        q_terms = content_terms(question)
        singles = [s for s in evidence.spans if len(s.parts) == 1]
        if not singles:
            return False
        dense = evidence.dense(self.encode([question])[0])
        match = {s.text: self._match(q_terms, s, float(dense[s.parts[0]])) for s in singles}
        top = max(match.values())
        good = {t for t, m in match.items() if m >= 0.9 * top}
        return not any(t in v.span.text for v in kept if v.span is not None for t in good)

    @staticmethod
    def _match(q_terms: set[str], span: Span, dense: float, weights: dict[str, float] | None = None) -> float:
        """How well a span answers a question: coverage of its terms (weighted by rarity when `weights` are
        given), their proximity, similarity."""
        if not q_terms:
            return dense
        if weights:
            cov = sum(weights[t] for t in q_terms & span.terms) / sum(weights[t] for t in q_terms)
        else:
            cov = len(q_terms & span.terms) / len(q_terms)
        return PICK.w_coverage * cov + PICK.w_dense * dense + PICK.w_proximity * cov * proximity(q_terms, span.text)

    @staticmethod
    def _rarity(terms: set[str], singles: list[Span]) -> dict[str, float]:
        """Inverse sentence frequency of each term in the evidence: a name every sentence repeats says less
        about which sentence answers than a verb only one sentence has."""
        n = len(singles)
        return {t: math.log(1.0 + n / max(1, sum(1 for s in singles if t in s.terms))) for t in terms}

    def extractive(self, question: str, evidence: Evidence, max_sentences: int = 2) -> str:
        """The extractive answer as text: the picked sentences, each with its marker."""
        return " ".join(f"{s.text} [{s.passage}]" for s in self.pick(question, evidence, max_sentences))

    def extract(self, question: str, evidence: Evidence, max_sentences: int = 2, hops: Sequence = (),
                compared: Outcome | None = None) -> list[Verified]:
        """The extractive answer as verified sentences, built from the picked spans themselves (never by re-splitting
        text, so each answer sentence is exactly one quoted span). With multi-hop retrieval (`hops`, qa/hops.py):
        the quote that resolved each hop's bridge, then the best sentence for the resolved question. For a decided
        comparison (`compared`, qa/compare.py): one quote per side."""
        spans = self.pick(question, evidence, max_sentences, quoting=True)
        if compared is not None and compared.short_answer:
            spans = list(answered_sides(compared))
            hops = ()
        bridged = [h for h in hops if getattr(h, "bridge", "")]
        if bridged and evidence.spans:
            chain: list[Span] = []
            singles = [s for s in evidence.spans if len(s.parts) == 1]
            for h in bridged[::2]:  # (description -> bridge) hops; the next one retrieves the rewritten question
                having = [s for s in singles if h.bridge in s.text]
                if having:
                    chain += self.pick(h.query, evidence, 1, among=having)
            final = bridged[-1].query if len(bridged) % 2 == 0 else question
            chain += self.pick(final, evidence, HOP_PARAMS.final_sentences)  # one sentence, or near-ties
            spans = []
            for s in chain:
                if s.text not in {x.text for x in spans}:
                    spans.append(s)
        q_terms = content_terms(question)
        return [Verified(s.text, 1.0, True, s, [s.passage],
                         len(q_terms & s.terms) / len(q_terms) if q_terms else 0.0, True, "supported")
                for s in spans]

    def disagreement(self, question: str, evidence: Evidence) -> list[Verified]:
        """Two sentences of different documents that answer the question otherwise (qa/disagreement.py), as the
        answer's sentences, best first; [] when the sources agree or the `disagreement` unit is off. Only
        sentences that mention every name of the question (spaCy NER) are candidates: two sentences about
        other things named alike are not sources disagreeing."""
        if not self.switches.on("disagreement") or not evidence.spans:
            return []
        named = [content_terms(e) for e in question_entities(question)]
        if not named:  # the asked fact is about something named, and each side must name it
            return []
        singles = [s for s in evidence.spans if len(s.parts) == 1 and not s.code and all(t <= s.terms for t in named)]
        if len({evidence.passage(s.passage).doc_id for s in singles}) < 2:
            return []
        q_terms = content_terms(question)
        dense = evidence.dense(self.encode([question])[0])
        scored = sorted(((self._match(q_terms, s, float(dense[s.parts[0]])), i) for i, s in enumerate(singles)),
                        reverse=True)
        top = scored[0][0]
        ranked, seen = [], set()
        for score, i in scored:
            if score < disagreement.PARAMS.ratio * top:
                break
            if singles[i].text not in seen:  # overlapping chunks repeat sentences
                seen.add(singles[i].text)
                ranked.append(singles[i])
        found = disagreement.first_conflict(question, [(evidence.passage(s.passage).doc_id, s.text) for s in ranked],
                                            evidence.annotator)
        if found is None:
            return []
        return [Verified(s.text, 1.0, True, s, [s.passage], 1.0, True, "supported") for s in (ranked[found[0]], ranked[found[1]])]

    def pick(self, question: str, evidence: Evidence, max_sentences: int = 2, among: Sequence[Span] | None = None,
             quoting: bool = False) -> list[Span]:
        """The best-supported sentences of the passages (or of the spans `among`) for the question. Besides the best
        sentences for the whole question: the best one for its question clause when another clause only sets
        the scene ("On the day of the vote, which leader ..."), and the best one naming the kind of thing asked
        for ("Which anniversary ...") when the best sentence does not. `quoting` (the extractive answer, not the
        refusal features reading the candidates): the others only when they add to the best (`second_adds`)."""
        if not evidence.spans:
            return []
        q_terms = content_terms(question)
        qv = self.encode([question])[0]
        singles = [s for s in (among if among is not None else evidence.spans) if len(s.parts) == 1]
        if self.switches.on("html_markup"):  # a sentence carrying HTML tags is markup, not an answer
            singles = [s for s in singles if s.code or not _HTML_TAG.search(s.text)] or singles
        if not singles:
            return []
        dense = evidence.dense(qv)
        code_weight = 1.0 if HOW_TO.search(question) or not self.switches.on("code_weight") else CODE_WEIGHT
        rarity = self._rarity(q_terms, singles) if self.switches.on("rarity") and q_terms else None
        versions = self.switches.on("changelog") and not _ASKS_VERSION.search(question)
        placed = {id(s): _headings_before(evidence, s) for s in singles} \
            if versions or self.switches.on("section_context") else {}
        headings = {k: _heading_terms(*v) for k, v in placed.items()} if self.switches.on("section_context") else {}

        typed = self._typed(question, evidence, singles) if self.switches.on("answer_type") else set()

        def match(s: Span) -> float:
            told = s.terms | (headings.get(id(s), frozenset()) & q_terms)  # its heading names what it is about
            m = self._match(q_terms, replace(s, terms=told) if told != s.terms else s, float(dense[s.parts[0]]), rarity)
            if id(s) in typed:
                m *= 1.0 + PICK.answer_type_bonus
            if versions and _under_version(*placed[id(s)]):
                m *= PICK.changelog_weight
            return m * (code_weight if s.code else 1.0)

        scored = sorted(((match(s), i) for i, s in enumerate(singles)), reverse=True)
        picked: list[Span] = []
        seen: set[str] = set()
        for score, i in scored:
            s = singles[i]
            if s.text in seen:  # overlapping chunks repeat sentences
                continue
            if picked and score < 0.9 * scored[0][0]:
                break
            picked.append(s)
            seen.add(s.text)
            if len(picked) >= max_sentences:
                break
        extra: list[Span] = []
        focus = focus_clause(question) if self.switches.on("focus_clause") else None
        if focus:  # the words of the thing asked for are not in its answer ("which leader" -> "Macron")
            f_terms = (content_terms(focus) - wh_phrase_terms(focus)) or content_terms(focus)
            f_dense = evidence.dense(self.encode([focus])[0])
            rarity = self._rarity(f_terms, singles)
            extra.append(max(singles, key=lambda s: self._match(f_terms, s, float(f_dense[s.parts[0]]), rarity)))
        asked = wh_phrase_terms(question) if self.switches.on("wh_phrase") else set()
        if asked and not asked & picked[0].terms:
            rank = {singles[i].text: r for r, (_, i) in enumerate(scored)}
            having = [s for s in singles if asked & s.terms]
            if having:
                extra.append(min(having, key=lambda s: rank[s.text]))
        ordered: list[Span] = []  # the best sentence, then these, then the other best ones
        for s in picked[:1] + extra + picked[1:]:
            if s.text not in {x.text for x in ordered}:
                ordered.append(s)
        picked = ordered[:max_sentences]
        if quoting and self.switches.on("second_adds") and len(picked) > 1:  # one quote answers unless another adds
            asked = {stem(w) for w in words(normalize(question))  # function words too ("against", "not") ...
                     if w.lower() not in QUESTION_WORDS | AUXILIARIES | PRONOUNS} - _FILLERS  # ... but the question's own
            have = _stems(picked[0].text) | headings.get(id(picked[0]), frozenset())
            kept = picked[:1]
            for s in picked[1:]:
                if (_stems(s.text) & asked) - have:
                    kept.append(s)
                    have = have | _stems(s.text)
            picked = kept
        if self.switches.on("code_follows"):  # "... wrap your application as follows:" + the code block it introduces
            for s in list(picked):
                if s.text.rstrip().endswith(":"):
                    nxt = next((x for x in singles if x.passage == s.passage and x.start > s.start), None)
                    if nxt is not None and nxt.code and nxt not in picked:
                        picked.append(nxt)
        picked.sort(key=lambda s: (s.passage, s.start))
        return picked

    @staticmethod
    def _typed(question: str, evidence: Evidence, singles: Sequence[Span]) -> set[int]:
        """ids of the sentences naming an entity (spaCy NER) of the kind the question asks for that the question
        does not name itself ("Who is the current opposition leader in Uganda?": the sentence naming a person)."""
        want = expected(evidence._annotator().annotate(question))
        labels = KIND_LABELS.get(want.kind) if want else None
        if not labels:
            return set()
        index = {id(s): i for i, s in enumerate(evidence.spans)}
        asked = question.lower()
        out = set()
        for s in singles:
            i = index.get(id(s))
            if i is None or s.code:
                continue
            ann = evidence.span_annotation(i)
            if any(label in labels and ann.text[a:b].lower() not in asked for a, b, label in ann.ents):
                out.add(id(s))
        return out

    @staticmethod
    def compose(verified: list[Verified], evidence: Evidence, keep_unsupported: bool = False) -> Grounded:
        """Answer text with repaired markers, numbered citations with exact quotes, sentence reports."""
        citations: list[Citation] = []
        by_key: dict[tuple, int] = {}
        said: dict[tuple, set] = {}  # quote -> the content terms of the kept sentences it already supports
        texts, reports = [], []
        for v in verified:
            numbers: list[int] = []
            if v.kept and v.span is not None:
                p = evidence.passage(v.span.passage)
                key = (p.source, v.span.start, v.span.end)  # overlapping chunks hold the same quote: cite it once
                terms = content_terms(v.text)
                if key in said and len(terms - said[key]) <= 0.2 * max(1, len(terms)):
                    continue  # the same claim again from the same quote (small models repeat themselves)
                said[key] = said.get(key, set()) | terms
                if key not in by_key:
                    by_key[key] = len(citations) + 1
                    citations.append(Citation(
                        n=by_key[key], source=p.source, chunk_id=p.chunk_id, quote=v.span.text,
                        start=v.span.start, end=v.span.end, doc_id=p.doc_id, passage=p.n, page=p.page_at(v.span.start),
                        section=p.section,
                    ))
                numbers = [by_key[key]]
            reports.append(SentenceReport(v.text, numbers, v.support, v.supported, v.relevant, v.reason))
            if v.kept:
                texts.append(_with_markers(v.text, numbers))
            elif keep_unsupported:
                texts.append(f"{v.text} [unsupported]")
        grounding = (sum(1 for v in verified if v.supported) / len(verified)) if verified else 0.0
        return Grounded(" ".join(texts), citations, reports, grounding)

_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s")


def _headings_before(evidence: Evidence, span: Span) -> tuple[str, list[str]]:
    """The section path of span's chunk and the headings of the chunk before the span (index/structure.py units)."""
    p = evidence.passage(span.passage)
    at = span.start - p.start
    return p.section or "", [p.text[a:b] for a, b, kind in (p.units or ()) if kind == "heading" and b <= at]


def heading_path(evidence: Evidence, passage: int, start: int) -> str:
    """The headings a quote (starting at `start` in passage `passage`) is under, nearest first: the headings of its
    chunk before it, then the chunk's section path ("0.45.0 (December 29, 2024) › Removed")."""
    p = evidence.passage(passage)
    if p is None:
        return ""
    at = start - p.start
    heads = [p.text[a:b].strip("# ") for a, b, kind in (p.units or ()) if kind == "heading" and b <= at]
    return SECTION_SEP.join([*reversed(heads), *reversed((p.section or "").split(SECTION_SEP))]).strip(SECTION_SEP + " ")


def _looping(text: str, times: int = 3) -> bool:
    """A generator caught in a loop ("he could pursue pursuing pursuing pursuing ..."): a word `times` times in a
    row says nothing, whatever the words around it share with a quote."""
    ws = [w.lower() for w in words(text)]
    return any(len(set(ws[i:i + times])) == 1 for i in range(len(ws) - times + 1))


def _stems(text: str) -> set[str]:
    """The stems of every word of `text`, stopwords included."""
    return {stem(w) for w in words(normalize(text))}


def _heading_terms(section: str, heads: list[str]) -> frozenset:
    """The terms of the section a span is under: the nearest heading before it in its chunk (with the top of the
    chunk's section path), else the chunk's section path ("Middleware › SessionMiddleware"), from
    `_headings_before`."""
    text = f"{heads[-1]} {section.split(SECTION_SEP)[0]}" if heads else section
    return frozenset(content_terms(text)) if text else frozenset()


def _under_version(section: str, heads: list[str]) -> bool:
    """Whether a span is under a version heading (a changelog entry: "0.45.0 (December 29, 2024) › Removed"), from
    `_headings_before`."""
    return bool(_VERSION_HEADING.search(SECTION_SEP.join([section, *heads])))


def _contexts(evidence: Evidence) -> dict[int, tuple[list[int], list[int]]]:
    """What each span is read under, as single-sentence span indices of the same passage: (headings, lead-ins).
    The nearest heading before it ("### RedirectResponse" over "Uses a 307 status code by default."; it lends
    only its names), and for a list item the sentence that introduces the list ("Starlette uses a thread pool
    in several scenarios:" over "- When serving files with FileResponse"; it lends all it says; without a colon,
    its names only). Spans with neither are left out."""
    singles = [i for i, s in enumerate(evidence.spans) if len(s.parts) == 1]
    out: dict[int, tuple[list[int], list[int]]] = {}
    for i, span in enumerate(evidence.spans):
        first = span.parts[0]
        before = [j for j in singles if j < first and evidence.spans[j].passage == span.passage]
        heads, leads = [], []
        heading = next((j for j in reversed(before) if evidence.spans[j].text.lstrip().startswith("#")), None)
        if heading is not None and heading not in span.parts:
            heads.append(heading)
        if _in_list_item(evidence, first):
            for j in reversed(before):
                t = evidence.spans[j].text
                if t.rstrip().endswith(":"):
                    leads.append(j)
                    break
                if not _in_list_item(evidence, j):
                    if relations.PARAMS.list_intro_names and j not in heads:
                        heads.append(j)  # what the list hangs off without a colon ("Signature: `StaticFiles(...)`")
                    break
        if heads or leads:
            out[i] = (heads, leads)
    return out


def _in_list_item(evidence: Evidence, i: int) -> bool:
    """Whether single span i is (in) a list item: its line starts with a bullet or a number."""
    span = evidence.spans[i]
    text = evidence.passage(span.passage).text
    at = span.start - evidence.passage(span.passage).start
    return bool(_BULLET.match(text[text.rfind("\n", 0, at) + 1 :]))


def _context_scores(claim: str, scores: np.ndarray, evidence: Evidence, contexts: dict) -> np.ndarray:
    """The prior of each span with a context (`_contexts`), counting the context's words too (a heading's names
    only): the claim's terms it covers, and no penalty for the names and numbers it gives. Never lower."""
    terms, names = content_terms(claim), salient_terms(claim)
    if not terms:
        return scores
    out = scores.copy()
    for i, (heads, leads) in contexts.items():
        span = evidence.spans[i]
        extra = frozenset().union(*(evidence.spans[j].names for j in heads), *(evidence.spans[j].terms for j in leads))
        extra -= span.terms
        gained = terms & extra
        if not gained or scores[i] <= 0.0:
            continue
        missing = names - span.terms
        still = missing - extra
        delta = W_LEX * len(gained) / len(terms)
        delta += min(NAME_PENALTY_CAP, NAME_PENALTY * len(missing)) - min(NAME_PENALTY_CAP, NAME_PENALTY * len(still))
        if any(t[0].isdigit() for t in missing) and not any(t[0].isdigit() for t in still):
            delta += NUMBER_PENALTY
        out[i] = scores[i] + delta
    return out


def _relative(p: Passage, spans) -> list[tuple[int, int]]:
    return [(s - p.start, e - p.start) for s, e in spans]


def _with_markers(text: str, numbers: list[int]) -> str:
    if not numbers:
        return text
    marks = "".join(f"[{n}]" for n in numbers)
    m = re.search(r"[.!?]$", text)
    if m:  # "... endures [1]." but "... endures.” [1]": a marker never goes inside a quotation
        return f"{text[: m.start()]} {marks}{text[m.start():]}"
    return f"{text} {marks}"
