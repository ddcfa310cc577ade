"""Comparisons and yes/no between two named things, answered from one quote per side.

    "Which band was formed first, Oasis or Blur?"        -> choice: the side whose date is earlier
    "Who was born earlier, Marie Curie or Albert Einstein?"
    "Which city has more inhabitants, Lyon or Marseille?" -> choice: the side whose number is larger
    "Is the Eiffel Tower older than the Statue of Liberty?" -> than: Yes/No
    "Are Ed Wood and Scott Derrickson both film directors?" -> both: Yes/No

`comparison(question)` reads the two sides and the compared attribute from the question's parse (the
coordinated pair "X or Y" / "X and Y", or the subject and the object of "than"; the comparative or ordinal
word gives the attribute and its direction). `Service` retrieves each side's passages (`side_queries`), and
`decide(cmp, evidence)` finds, for each side, one sentence that mentions it and states the attribute (a
date, a number, or the category noun), then compares. When one side's attribute is not in the documents,
the result says which side is missing: the question is refused rather than answered from one side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from index.linguistics import Annotation, Annotator, default_annotator
from qa.terms import fold

if TYPE_CHECKING:  # pragma: no cover
    from qa.grounding import Evidence, Span

# The comparative and ordinal words that say what is compared and which way (lemmas, as the parser gives them).
# A small, closed class of English words: no library maps "older" to "the earlier date" for us.
EARLIER = frozenset("first early earlier earliest old older oldest soon sooner".split())
LATER = frozenset("last late later latest young younger youngest new newer newest recent".split())
MORE = frozenset("more most many much large larger largest big bigger biggest high higher highest tall taller "
                 "tallest long longer longest great greater greatest heavy heavier".split())
FEWER = frozenset("few fewer fewest less least little small smaller smallest low lower lowest short shorter "
                  "shortest".split())
YEAR = re.compile(r"\b(1\d{3}|20\d{2})\b")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SIDE_DEPS = frozenset({"cc", "conj", "punct", "appos", "prep", "relcl", "acl"})


@dataclass(frozen=True)
class Comparison:
    kind: str  # "choice" (which of X or Y), "than" (is X -er than Y), "both" (are X and Y both Z)
    sides: tuple[str, str]  # as written in the question
    attribute: str  # "time" | "number" | "category"
    direction: str = ""  # "min" (earlier / fewer wins) | "max" (later / more wins); "" for category
    category: tuple[str, ...] = ()  # for "both": lemmas of the category noun phrase, head last ("film", "director")
    cue: tuple[str, ...] = ()  # lemmas of the question's predicate and attribute noun ("form", "inhabitant")


@dataclass(frozen=True)
class Side:
    name: str
    span: "Span | None"  # the sentence stating the side's attribute
    value: float | None = None  # year or number; for "both": 1.0 when the category holds, 0.0 when another does


@dataclass(frozen=True)
class Outcome:
    comparison: Comparison
    sides: tuple[Side, Side]
    short_answer: str | None  # the winning side (as a quote writes it), "Yes" / "No"; None when undecided

    @property
    def missing(self) -> list[str]:
        return [s.name for s in self.sides if s.span is None or s.value is None]

    @property
    def spans(self) -> list["Span"]:
        return [s.span for s in self.sides if s.span is not None]


def _phrase(q: Annotation, i: int) -> str:
    """The side's words: the token with its compounds, determiners and modifiers, and an "of" phrase
    ("the Statue of Liberty"), not its conjuncts or appositions."""
    keep = {i}
    stack = [i]
    while stack:
        k = stack.pop()
        for c in q.children(k):
            t = q.tokens[c]
            if t.dep in _SIDE_DEPS and not (t.dep == "prep" and t.lemma == "of" and k == i):
                continue
            if t.tag in ("JJR", "RBR", "JJS", "RBS") or t.lemma in ("both", "either"):
                continue
            keep.add(c)
            stack.append(c)
    idx = sorted(keep)
    while idx and q.tokens[idx[0]].pos == "DET":
        idx = idx[1:]
    if not idx:
        return ""
    return q.text[q.tokens[idx[0]].start : q.tokens[idx[-1]].end]


def _direction(q: Annotation) -> tuple[str, str, int] | None:
    for i, t in enumerate(q.tokens):
        if t.pos not in ("ADJ", "ADV"):
            continue
        word = q.text[t.start : t.end].lower()
        for words, attribute, direction in ((EARLIER, "time", "min"), (LATER, "time", "max"),
                                            (MORE, "number", "max"), (FEWER, "number", "min")):
            if t.lemma in words or word in words:
                return attribute, direction, i
    return None


def _cue(q: Annotation, skip: set[int]) -> tuple[str, ...]:
    return tuple(t.lemma for i, t in enumerate(q.tokens)
                 if i not in skip and t.pos in ("VERB", "NOUN") and t.lemma not in ("be", "have", "do"))


# "Which band was formed first, Oasis or Blur?": the sides follow the question's clause, after its last comma.
# Long names defeat the parser's coordination ("Journal of X or British Journal of Y"), the comma does not.
_CHOICE = re.compile(r"^(?P<head>[^,]+),\s*(?P<a>[^,]+?)\s+or\s+(?P<b>[^,]+?)\s*\?*\s*$", re.S)


def _side(text: str) -> str:
    return re.sub(r"^the\s+", "", text.strip())  # "the Cathedral Museum" -> "Cathedral Museum"; "The Quarterback" stays


def comparison(question: str, annotator: Annotator | None = None) -> Comparison | None:
    """The comparison the question asks for, or None when it asks for something else."""
    q = (annotator or default_annotator()).annotate(question)
    toks = q.tokens
    if not toks:
        return None
    m = _CHOICE.match(question.strip())
    if m and toks[0].tag in ("WDT", "WP"):
        head_end = m.end("head")
        head = Annotation(q.text, tuple(t for t in toks if t.end <= head_end), q.sents, q.ents, q.chunks, ())
        found = _direction(head)
        if found is not None:
            attribute, direction, at = found
            skip = {i for i, t in enumerate(toks) if t.start >= head_end} | {at}
            return Comparison("choice", (_side(m["a"]), _side(m["b"])), attribute, direction, cue=_cue(q, skip))
    side_words: set[int] = set()
    for i, t in enumerate(toks):  # "X or Y" / "X and Y"
        if t.dep != "cc" or t.lemma not in ("or", "and") or not 0 <= t.head < len(toks):
            continue
        first = t.head
        conj = next((j for j in q.children(first) if toks[j].dep == "conj" and j > i), None)
        if conj is None or toks[first].pos not in ("PROPN", "NOUN") and toks[conj].pos not in ("PROPN", "NOUN"):
            continue
        a, b = _phrase(q, first), _phrase(q, conj)
        if not a or not b:
            continue
        side_words = {k for k, tok in enumerate(toks) if a.find(q.text[tok.start:tok.end]) >= 0 or
                      b.find(q.text[tok.start:tok.end]) >= 0}
        both = any(x.lemma == "both" for x in toks)
        polar = toks[0].pos == "AUX" or toks[0].dep == "ROOT" and toks[0].lemma == "be"
        if t.lemma == "and" and both and polar:
            head = next((j for j in range(len(toks)) if toks[j].lemma == "both"), None)
            noun = toks[head].head if head is not None else -1
            if noun < 0 or toks[noun].pos != "NOUN":
                return None
            category = tuple(toks[j].lemma for j in range(len(toks)) if j == noun or
                             (toks[j].head == noun and toks[j].dep in ("compound", "amod") and toks[j].lemma != "both"))
            return Comparison("both", (a, b), "category", category=category)
        if t.lemma == "or" and toks[0].tag in ("WDT", "WP") or t.lemma == "or" and toks[0].lemma in ("which", "who"):
            found = _direction(q)
            if found is None:
                return None
            attribute, direction, at = found
            return Comparison("choice", (a, b), attribute, direction, cue=_cue(q, side_words | {at}))
        return None
    for i, t in enumerate(toks):  # "Is X older than Y?"
        if t.lemma == "than" and t.dep == "prep" and toks[0].pos == "AUX":
            obj = next((j for j in q.children(i) if toks[j].dep == "pobj"), None)
            comp = t.head
            subj = next((j for j in range(1, comp) if toks[j].dep in ("nsubj", "nsubjpass", "attr")
                         and toks[j].pos in ("PROPN", "NOUN")), None)
            if obj is None or subj is None:
                return None
            found = _direction(q)
            if found is None:
                return None
            attribute, direction, at = found
            a, b = _phrase(q, subj), _phrase(q, obj)
            skip = {k for k, tok in enumerate(toks) if q.text[tok.start:tok.end] in a.split() + b.split()} | {at}
            return Comparison("than", (a, b), attribute, direction, cue=_cue(q, skip)) if a and b else None
    return None


def side_queries(cmp: Comparison, question: str) -> list[str]:
    """One retrieval query per side: the side's name with the question's other words."""
    rest = question
    for s in cmp.sides:
        rest = rest.replace(s, " ")
    rest = re.sub(r"\s+(?:or|and)\s+|[,?]", " ", rest)
    return [f"{s} {' '.join(rest.split())}".strip() for s in cmp.sides]


def _mentions(text: str, name: str, title: str = "") -> bool:
    """Does the sentence (or its passage's title) name the side? Exact words, accents and case folded."""
    n = fold(name).lower()
    return bool(n) and (re.search(rf"(?<!\w){re.escape(n)}(?!\w)", fold(text).lower()) is not None
                        or fold(title).lower() == n)


def _value(ann: Annotation, cmp: Comparison) -> float | None:
    if cmp.attribute == "time":
        for s, e, label in ann.ents:
            if label == "DATE":
                m = YEAR.search(ann.text[s:e])
                if m:
                    return float(m.group(1))
        return None
    if cmp.attribute == "number":
        for s, e, label in ann.ents:
            if label in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"):
                m = NUMBER.search(ann.text[s:e])
                if m:
                    return float(m.group(0).replace(",", ""))
        return None
    lemmas = {t.lemma for t in ann.tokens}
    head, modifiers = (cmp.category[-1], set(cmp.category[:-1])) if cmp.category else ("", set())
    if head and head in lemmas or modifiers and modifiers <= lemmas:  # "film director"; "ice hockey defenseman"
        return 1.0
    # described as something else: a noun complement of "be" ("is a Canadian actor") or an apposition
    described = [t for t in ann.tokens if t.pos == "NOUN" and (t.dep in ("attr", "appos") or
                 0 <= t.head < len(ann.tokens) and ann.tokens[t.head].lemma == "be" and t.dep != "nsubj")]
    return 0.0 if described else None


def decide(cmp: Comparison, evidence: "Evidence") -> Outcome:
    """Each side's best sentence stating the attribute, and the answer the two give."""
    sides = []
    for name in cmp.sides:
        best: tuple[float, Side] | None = None
        for i, span in enumerate(evidence.spans):
            if len(span.parts) > 1 or span.code:
                continue
            p = evidence.passage(span.passage)
            before = p.text[: max(0, span.start - p.start)] if p is not None else ""
            other = [o for o in cmp.sides if o != name]
            direct = _mentions(span.text, name)
            # a sentence naming the side, or one after it in the same passage ("The band was formed in 1991")
            # that names no other side, or one in a passage titled with the side's name
            if not (direct or (_mentions(before, name, p.title if p is not None else "")
                               and not any(_mentions(span.text, o) for o in other))):
                continue
            ann = evidence.span_annotation(i)
            value = _value(ann, cmp)
            if value is None:
                continue
            lemmas = {t.lemma for t in ann.tokens}
            score = (len(set(cmp.cue) & lemmas) + (2 * value if cmp.attribute == "category" else 0)
                     + (1 if direct else 0) - 0.01 * span.passage)
            if best is None or score > best[0]:
                best = (score, Side(name, span, value))
        sides.append(best[1] if best else Side(name, None))
    a, b = sides
    short = None
    if a.value is not None and b.value is not None:
        if cmp.kind == "both":
            short = "Yes" if a.value and b.value else "No"
        elif a.value != b.value:
            first_wins = (a.value < b.value) == (cmp.direction == "min")
            short = ("Yes" if first_wins else "No") if cmp.kind == "than" else (a.name if first_wins else b.name)
    return Outcome(cmp, (a, b), short)


def answered_sides(outcome: Outcome) -> Sequence["Span"]:
    """The quotes an answer to the comparison cites: one per side, in the question's order, each once."""
    out: list = []
    for s in outcome.spans:
        if s not in out:
            out.append(s)
    return out
