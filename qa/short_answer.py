"""Answers that lead with the answer: the phrase of a cited quote that answers a question asking for a thing.

`expected(question)` reads what the question asks for from its parse (wh-word and its head, or a polar
question's auxiliary); `short_answer(question, quotes)` finds a phrase of that kind in the cited quotes:

- who / whom / whose          -> a PERSON (else ORG, NORP, GPE) entity the question does not name
- when / what year ...        -> a DATE or TIME entity
- where / in which city ...   -> a GPE, LOC or FAC entity the question does not name
- how many / how much ...     -> a CARDINAL, QUANTITY, MONEY or PERCENT entity
- how did X <verb>            -> the preposition phrase of X's <verb> in a quote ("against it")
- what did X do               -> X's action: the quote from its verb to the end of the clause ("abstain from ...")
- what / which <noun>         -> an argument of the question's verb in a quote, else a noun phrase headed by <noun>
- did / is / can ... (polar)  -> "Yes" when a quote states the question's relation, "No" when it states its negation

It returns None for explanations (why, how to) and whenever no phrase of the expected kind is in a quote:
a short answer is never guessed. The phrase is always a slice of a quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from index.linguistics import Annotation, Annotator, Triple, default_annotator

_PERSONISH = ("PERSON", "ORG", "NORP", "GPE")
KIND_LABELS = {
    "person": _PERSONISH,
    "time": ("DATE", "TIME"),
    "place": ("GPE", "LOC", "FAC"),
    "number": ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"),
}
_PLACE_NOUNS = frozenset("city country town state place village region province venue building location".split())
_TIME_NOUNS = frozenset("year date day time century month decade".split())
_NUMBER_ADVERBS = frozenset("many much long old far big tall large".split())
_POLAR_AUX = frozenset("be do have can could will would shall should may might must".split())
LIGHT_VERBS = frozenset("be have do get make take go".split())  # carry no meaning of their own to look for
_CLAUSE_END = re.compile(r"[,;:.!?—–()]")


@dataclass(frozen=True)
class Expected:
    kind: str  # person | time | place | number | manner | action | thing | polar
    verb: str = ""  # lemma of the question's main verb, when it has one
    noun: str = ""  # for "what/which <noun>": the noun's lemma
    subject: tuple[str, ...] = ()  # lemmas of the question's subject, when it names one
    slot: str = ""  # where the wh-word sits in its clause: "obj", "prep:<lemma>" or "" (see `_wh_slot`)


_WH = frozenset("what which who whom whose".split())


def _wh_slot(q: Annotation) -> tuple[Triple, str] | None:
    """The question's clause whose object or prepositional object is the wh-phrase ("What did Trump say Putin
    would not oppose?" -> (oppose, Putin, obj)), and that slot."""
    for tr in q.triples:
        if tr.obj is not None and (set(tr.obj.heads) & _WH or tr.obj.text.split()[0].lower() in _WH):
            return tr, "obj"
        for prep, arg in tr.preps:
            if arg is not None and arg.text and (set(arg.heads) & _WH or arg.text.split()[0].lower() in _WH):
                return tr, f"prep:{prep}"
    return None


def _subject_before_verb(q: Annotation, wh: int) -> tuple[str, ...]:
    """Lemmas of the nouns between "how did" and the verb, for parses that miss the subject ("How did the US vote?")."""
    verb = next((i for i in range(wh + 2, len(q.tokens)) if q.tokens[i].pos == "VERB"), len(q.tokens))
    return tuple(t.lemma for t in q.tokens[wh + 2 : verb] if t.pos in ("PROPN", "NOUN"))


def _lemmas(ann: Annotation) -> set[str]:
    return {t.lemma for t in ann.tokens if t.pos in ("PROPN", "NOUN", "NUM", "ADJ", "VERB")}


def _main_triple(q: Annotation) -> Triple | None:
    triples = [t for t in q.triples if t.verb not in ("do", "be", "have")] or list(q.triples)
    return triples[0] if triples else None


def expected(q: Annotation) -> Expected | None:
    """What the question asks for, or None when it asks for an explanation (why, how to) or is not a question."""
    toks = q.tokens
    if not toks:
        return None
    triple = _main_triple(q)
    verb = triple.verb if triple else ""
    subject = tuple(triple.subj.heads) if triple and triple.subj else ()
    words = [q.token_text(i).lower() for i in range(len(toks))]
    wh = next((i for i, t in enumerate(toks) if t.tag in ("WDT", "WP", "WP$", "WRB")), None)
    if wh is None:
        if toks[0].lemma in _POLAR_AUX and toks[0].pos in ("AUX", "VERB"):
            return Expected("polar", verb, subject=subject)
        return None
    w = words[wh]
    nxt = words[wh + 1] if wh + 1 < len(words) else ""
    nxt_lemma = toks[wh + 1].lemma if wh + 1 < len(toks) else ""
    if w in ("who", "whom", "whose"):
        return Expected("person", verb, subject=subject)
    if w == "when":
        return Expected("time", verb, subject=subject)
    if w == "where":
        return Expected("place", verb, subject=subject)
    if w == "why":
        return None
    if w == "how":
        if nxt in _NUMBER_ADVERBS:
            return Expected("number", verb, subject=subject)
        if wh + 1 < len(toks) and (nxt_lemma in ("do", "be", "have") or toks[wh + 1].pos == "AUX"):
            subject = subject or _subject_before_verb(q, wh)
            if verb and subject and verb not in ("do", "be") and not {"i", "we", "you"} & set(subject):
                return Expected("manner", verb, subject=subject)
        return None  # "how do I ...": an explanation
    found = _wh_slot(q)
    if found and w in ("what", "which", "who", "whom"):
        tr, slot = found
        if tr.verb == "do" and slot == "obj" and tr.subj is not None:
            return Expected("action", tr.verb, subject=tuple(tr.subj.heads))
        noun = toks[wh + 1].lemma if w in ("what", "which") and wh + 1 < len(toks) and toks[wh + 1].pos == "NOUN" else ""
        return Expected("thing", tr.verb, noun, tuple(tr.subj.heads) if tr.subj else (), slot)
    if w in ("what", "which"):
        if toks[wh + 1:wh + 2] and toks[wh + 1].pos in ("NOUN", "PROPN"):
            noun = toks[wh + 1].lemma
            if noun in _PLACE_NOUNS:
                return Expected("place", verb, noun, subject)
            if noun in _TIME_NOUNS:
                return Expected("time", verb, noun, subject)
            if noun in ("number", "percentage", "amount"):
                return Expected("number", verb, noun, subject)
            return Expected("thing", verb, noun, subject)
        if verb == "do" or (triple and triple.verb == "do") or "do" in [t.lemma for t in toks[wh + 1:]][-2:]:
            if subject:
                return Expected("action", verb, subject=subject)
        return Expected("thing", verb, subject=subject)
    return None


def _matches(arg_heads: Sequence[str], subject: Sequence[str]) -> bool:
    a = {h.lower() for h in arg_heads}
    return bool(a & {s.lower() for s in subject})


def _entity(quote: Annotation, labels: Sequence[str], asked: set[str]) -> str | None:
    best = None
    for rank, label in enumerate(labels):
        for s, e, lab in quote.ents:
            if lab != label:
                continue
            text = quote.text[s:e]
            words = {t.lemma for t in quote.tokens if t.start >= s and t.end <= e}
            if words and words <= asked:
                continue  # the question already names it
            if best is None or rank < best[0]:
                best = (rank, text)
        if best is not None:
            return best[1]
    return None


def _clause_from(quote: Annotation, start: int) -> str:
    rest = quote.text[start:]
    m = _CLAUSE_END.search(rest)
    return rest[: m.start()].strip() if m else rest.strip()


def _polar(q: Annotation, quotes: Sequence[Annotation]) -> str | None:
    from qa import relations

    for quote in quotes:
        ok, reason = relations.check(q, [quote])
        if ok:
            return "Yes"
        if reason == "negation":
            return "No"
    return None


def asks_for_thing(question: str, annotator: Annotator | None = None) -> bool:
    """Whether the question asks for a thing a short answer can give (see `expected`)."""
    return expected((annotator or default_annotator()).annotate(question)) is not None


def short_answer(question: str, quotes: Sequence[str], annotator: Annotator | None = None) -> str | None:
    """The phrase of one of `quotes` that answers `question`, "Yes"/"No", or None (see the module docstring)."""
    quotes = [q for q in quotes if q and q.strip()]
    if not quotes:
        return None
    annotator = annotator or default_annotator()
    q_ann, *anns = annotator.annotate_many([question, *quotes])
    want = expected(q_ann)
    if want is None:
        return None
    asked = _lemmas(q_ann)
    if want.kind == "polar":
        return _polar(q_ann, anns)
    # the quotes that say most of what the question says first ("How did the US vote on its own resolution?": the
    # quote about its own resolution, not the one about another resolution that has the US voting too)
    cover = [len(asked & _lemmas(a)) for a in anns]
    anns = [a for _, a in sorted(zip(cover, anns), key=lambda x: -x[0])]
    if want.kind == "manner":  # how someone acted is read from the quotes that tell the event the question asks about
        anns = anns[: sum(1 for c in cover if c == max(cover))]
    if want.kind in KIND_LABELS:
        for quote in anns:
            if want.kind == "person" and want.verb and want.verb not in LIGHT_VERBS \
                    and want.verb not in {t.lemma for t in quote.tokens}:
                continue  # "Who will command the force?": a name in a quote that never says "command" is no answer
            found = _entity(quote, KIND_LABELS[want.kind], asked)
            if found:
                return found
        return None
    for quote in anns:
        for tr in quote.triples:
            if want.verb and tr.verb != want.verb and want.kind != "action":
                continue
            if want.subject and not (tr.subj and _matches(tr.subj.heads, want.subject)):
                continue
            if want.kind == "manner":
                for prep, arg in tr.preps:
                    phrase = f"{prep} {arg.pronoun or arg.text}"
                    if phrase.lower() in quote.text.lower():
                        i = quote.text.lower().index(phrase.lower())
                        return quote.text[i : i + len(phrase)]
                    return prep
                if tr.neg:
                    return f"not {tr.verb}"
            elif want.kind == "action":
                if tr.verb in ("do", "be", "have", "choose", "decide", "want", "try"):
                    continue
                return _clause_from(quote, quote.tokens[tr.at].start) or None
            elif want.kind == "thing":
                if want.slot == "obj":
                    args = [tr.obj]
                elif want.slot.startswith("prep:"):
                    args = [a for p, a in tr.preps if p == want.slot[5:]]
                else:
                    args = [tr.obj, *(a for _, a in tr.preps)]
                for arg in args:
                    if arg is None or (set(arg.heads) <= asked and not set(arg.heads) <= {want.noun}):
                        continue
                    if arg.text in quote.text:  # a pronoun's antecedent, when the quote holds it
                        if want.noun and set(arg.heads) <= {want.noun}:  # "which resolution" -> not just "a resolution"
                            return _clause_from(quote, quote.text.index(arg.text))
                        return arg.text
                    if arg.pronoun:
                        return arg.pronoun
    if want.kind == "manner" and want.subject:  # "chose to abstain from the final vote": what the subject did instead
        for quote in anns:
            for tr in quote.triples:
                if tr.subj and _matches(tr.subj.heads, want.subject) and tr.verb not in LIGHT_VERBS \
                        and tr.verb not in ("choose", "decide", "want", "try") and tr.verb != want.verb:
                    return _clause_from(quote, quote.tokens[tr.at].start) or None
    if want.kind == "thing" and want.noun:
        for quote in anns:
            for s, e in quote.chunks:
                heads = {t.lemma for t in quote.tokens if t.start >= s and t.end <= e}
                if want.noun in heads and not heads <= asked:
                    return quote.text[s:e]
    return None
