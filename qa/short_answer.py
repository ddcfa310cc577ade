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

Read from the parse of question and quote alike (`_slot`, `_by_slot`): a what/which/who(m)/whose phrase is an
argument of a verb (subject, object, prepositional object, possessor); the answer is the quote's argument in the
same slot of the same verb (a noun of the same stem for "who did X meet" -> "a meeting with Y"), as its phrase
cut at the next clause. "What kind of N" -> the quote's N with its qualifier; "how did X describe Y" -> how the
quote qualifies Y; "what did X do" -> the verb without what the question already says ("abstain").

On developer documentation (Markdown quotes): a what/which <noun> or how-many question is answered by the inline
code value of the sentence that shares most of the question's words ("Defaults to `9`"), a list item's name when
its words hold the asked noun (`ServerErrorMiddleware` for "which middleware"), a whole list for a plural noun;
a yes/no question by a documented boolean default (`False` -> No) or by a sentence about the question's names
that is negated where the question is not ("is not supported" -> No); "A or B?" by the alternative the quotes
state (the one not negated and highest in its sentence: "Warn instead of raise" -> Warn).

It returns None for explanations (why, how to) and whenever no phrase of the expected kind is in a quote:
a short answer is never guessed. The phrase is always a slice of a quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from index.linguistics import Annotation, Annotator, Triple, default_annotator
from index.structure import identifier_words

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
_CODE = re.compile(r"`([^`\n]+)`")  # inline code in Markdown: a value or a name the docs give literally
_BOOLEAN = {"true": "Yes", "false": "No"}  # a documented boolean default answers a yes/no question


@dataclass(frozen=True)
class ShortAnswerParams:
    """Thresholds of the rules below (each rule's reason is in its docstring)."""

    nominal_min_len: int = 4  # a noun whose lemma starts with the question's verb lemma tells the same event
    # ("meeting" for "meet") when the verb lemma has at least this many letters ("go" -> "good" must not count)
    polar_coverage: float = 0.6  # share of the question's content lemmas a sentence must hold to be read for Yes/No
    code_min_overlap: int = 1  # question lemmas a sentence must share for its inline code to answer a what/which
    max_phrase_tokens: int = 12  # a slot filler longer than this is cut back to its noun chunk


PARAMS = ShortAnswerParams()


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


def _asked(q: Annotation) -> set[str]:
    """What the question says: its content lemmas and, lower-cased, its content words as written (a lower-cased
    question parses names as nouns: "game of thrones" has the lemma "throne", the quote's name "Thrones")."""
    return _lemmas(q) | {q.token_text(i).lower() for i, t in enumerate(q.tokens)
                         if t.pos in ("PROPN", "NOUN", "NUM", "ADJ", "VERB")}


def _main_triple(q: Annotation) -> Triple | None:
    triples = [t for t in q.triples if t.verb not in ("do", "be", "have")] or list(q.triples)
    return triples[0] if triples else None


_COMPLEMENTS = frozenset({"dobj", "attr", "acomp", "ccomp", "xcomp", "dative", "oprd", "nsubj", "nsubjpass", "expl"})


def _asks_event(q: Annotation, wh: int) -> bool:
    """"What happens when I call send_denial_response ...?", "What changed in 0.21?": "what" is the subject of a
    verb that takes no object nor complement, so the question asks what takes place -- an explanation, not a
    thing a phrase could name ("What causes the phases?" has an object: it asks for a thing)."""
    t = q.tokens[wh]
    if q.token_text(wh).lower() != "what" or t.dep != "nsubj" or not 0 <= t.head < len(q.tokens):
        return False
    verb = q.tokens[t.head]
    return verb.pos == "VERB" and not any(x.head == t.head and i != wh and x.dep in _COMPLEMENTS
                                          for i, x in enumerate(q.tokens))


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
        if q.text.rstrip().endswith("?"):  # elliptical: "StaticFiles follow symlinks by default?"
            if not any(t.pos in ("VERB", "AUX") for t in toks):  # "default lifetime of the session cookie?": a value
                root = next((t for t in toks if t.dep == "ROOT" and t.pos in ("NOUN", "PROPN")), None)
                return Expected("thing", noun=root.lemma) if root is not None else None
            return Expected("polar", verb, subject=subject, slot="elliptical")
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
    if w == "why" or _asks_event(q, wh):
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
    from qa import relations

    a = {relations.key(h) for h in arg_heads}
    return bool(a & {relations.key(s) for s in subject})  # by alias too: "Washington" ~ "the US"


def _entity(quote: Annotation, labels: Sequence[str], asked: set[str], kind: str = "") -> str | None:
    """The entity of the first label (in `labels` order) the question does not name. For a place, one that is the
    object of a preposition ("in the Oval Office") comes before one that only qualifies a noun ("the US
    president"), and an organisation's building counts when so placed (`kind` "where": not for "which country");
    for a person, a group named by an adjective
    ("European leaders") is given with its noun."""
    best = None
    for s, e, lab in quote.ents:
        toks = [k for k, t in enumerate(quote.tokens) if t.start >= s and t.end <= e]
        if not toks:
            continue
        head = next((k for k in toks if not (s <= quote.tokens[quote.tokens[k].head].start < e)), toks[-1])
        placed = quote.tokens[head].dep == "pobj"
        if lab in labels:
            rank = labels.index(lab)
        elif kind == "where" and lab == "ORG" and placed:
            rank = len(labels)
        else:
            continue
        if lab == "PERSON" and not any(quote.tokens[k].pos == "PROPN" for k in toks):
            continue  # the recogniser's person is no proper noun to the tagger ("sturm und drang"): not a name
        text = quote.text[s:e]
        words = {quote.tokens[k].lemma for k in toks}
        if words <= asked or {quote.token_text(k).lower() for k in toks} <= asked:
            continue  # the question already names it (in a lower-cased question "thrones" is a noun, not a name)
        if kind == "person" and quote.tokens[head].dep in ("amod", "compound"):
            h = quote.tokens[head].head
            if quote.tokens[h].pos == "NOUN" and quote.tokens[h].lemma not in asked:
                chunk = next(((cs, ce) for cs, ce in quote.chunks if cs <= s and quote.tokens[h].end <= ce), None)
                text = quote.text[s:quote.tokens[h].end] if chunk is None else quote.text[s:chunk[1]]
        order = (0 if kind != "where" or placed else 1, rank, s)
        if best is None or order < best[0]:
            best = (order, text)
    return best[1] if best else None


def _clause_from(quote: Annotation, start: int) -> str:
    rest = quote.text[start:]
    m = _CLAUSE_END.search(rest)
    return rest[: m.start()].strip() if m else rest.strip()


def _polar(q: Annotation, quotes: Sequence[Annotation]) -> str | None:
    from qa import relations

    for quote in quotes:
        ok, reason = relations.check(q, [quote])
        if ok and relations.firm(q, [quote]):  # "Yes" states the relation: every core triple told as asked
            return "Yes"
        if reason == "negation":
            return "No"
    return None


# --- the slot the wh-phrase fills (read from the question's parse) and its filler in a quote -------------------

_PUNCT_CUT = frozenset(",;:—–()[]")
_QUOTE_MARKS = "“”\"'‘’`*"


@dataclass(frozen=True)
class Slot:
    """Where a what/which/who(m)/whose phrase sits: the verb it is an argument of and its role there."""

    verb: str  # lemma of that verb
    role: str  # "subj" (the doer), "pass" (what is done to, as a passive subject), "obj", "prep:<lemma>", "poss"
    subject: tuple[str, ...] = ()  # the other participant the question names (the verb's subject), lemmas
    noun: str = ""  # the wh-phrase's noun ("which body" -> body; "what kind of agreement" -> agreement)
    kind_of: bool = False  # "what kind of N": the answer is how the quote qualifies N
    mods: tuple[str, ...] = ()  # lemmas of the wh-noun's modifiers ("which French leader" -> french)
    stranded: str = ""  # a preposition the verb keeps without its object ("What did Trump advocate for?")


def _passive(a: Annotation, i: int) -> bool:
    return any(a.tokens[k].dep in ("nsubjpass", "auxpass", "csubjpass") for k in a.children(i))


def _first(a: Annotation, ids: Sequence[int], deps: Sequence[str]) -> int | None:
    return next((k for k in ids if a.tokens[k].dep in deps), None)


def _subject_lemmas(a: Annotation, v: int) -> tuple[str, ...]:
    s = _first(a, a.children(v), ("nsubj", "nsubjpass"))
    if s is None:
        return ()
    lo, hi = a.subtree(s)
    return tuple(a.tokens[k].lemma for k in range(lo, hi + 1) if a.tokens[k].pos in ("PROPN", "NOUN", "PRON"))


def _slot(q: Annotation) -> Slot | None:
    """The wh-phrase's verb and role, by the dependency parse. A wh-word fronted out of a reported clause
    ("What does Macron say Trump has ...?": the object of "has", not of "say") is given back to the clause that
    lacks the argument (its object, or its subject: "What did Macron say must be included?")."""
    toks = q.tokens
    wh = next((i for i, t in enumerate(toks) if t.tag in ("WDT", "WP", "WP$")), None)
    if wh is None:
        return None
    h, noun, kind_of, mods = wh, "", False, ()
    if toks[wh].lemma == "what" and toks[wh].dep == "nsubj" and not any(
            toks[k].dep in ("dobj", "attr", "ccomp", "xcomp", "acomp") for k in q.children(toks[wh].head)):
        return None  # "What happens (to X)?": an event, told by a clause, not a participant
    if toks[wh].tag == "WP$":  # whose N: the possessor of N
        n = toks[wh].head
        return Slot(toks[n].lemma, "poss", noun=toks[n].lemma)
    if toks[wh].dep == "det" and toks[wh].head != wh:
        h = toks[wh].head
        noun = toks[h].lemma
        mods = tuple(toks[k].lemma for k in q.children(h) if toks[k].dep in ("amod", "compound"))
        of = next((k for k in q.children(h) if toks[k].dep == "prep" and toks[k].lemma == "of"), None)
        pobj = _first(q, q.children(of), ("pobj",)) if of is not None else None
        if pobj is not None:  # "what kind of agreement": the asked thing is an agreement, of some kind
            return Slot("", "", noun=toks[pobj].lemma, kind_of=True)
    dep = toks[h].dep
    v = toks[h].head
    if dep == "pobj" and toks[v].dep in ("prep", "agent"):
        role, v = f"prep:{toks[v].lemma}", toks[v].head
        if toks[h].head != v and q.tokens[toks[h].head].dep == "agent":
            role = "subj"
    elif dep in ("nsubj", "csubj"):
        role = "subj"
    elif dep == "nsubjpass":
        role = "pass"
    elif dep in ("dobj", "attr", "oprd"):
        role = "obj"
    else:
        return None
    if role == "obj":
        inner = next((k for k in q.children(v) if toks[k].dep in ("ccomp", "xcomp") and toks[k].pos in ("VERB", "AUX")
                      and _first(q, q.children(k), ("dobj",)) is None), None)
        if inner is not None and toks[inner].lemma != "be":
            v = inner
        elif toks[v].dep in ("csubj", "csubjpass", "ccomp") and _first(q, q.children(toks[v].head),
                                                                      ("nsubj", "nsubjpass")) is None:
            v = toks[v].head
            role = "pass" if _passive(q, v) else "subj"
    if toks[v].pos not in ("VERB", "AUX") and toks[v].dep != "ROOT":
        return None
    verb = toks[v].lemma
    subject = () if role in ("subj", "pass") else tuple(x for x in _subject_lemmas(q, v) if x not in _WH)
    stranded = next((toks[k].lemma for k in q.children(v) if toks[k].dep == "prep" and k > v
                     and all(q.tokens[x].ent for x in q.children(k))), "")  # its "object" is a date at most
    return Slot(verb, role, subject, noun, kind_of, mods, stranded)


def _same_event(verb: str, t, nominal: bool = False, params: ShortAnswerParams = PARAMS) -> bool:
    from qa import relations

    if t.pos in ("VERB", "AUX") or (t.dep == "ROOT" and t.pos != "NOUN"):
        return relations.verbs_match(verb, t.lemma)
    return nominal and t.pos == "NOUN" and len(verb) >= params.nominal_min_len and t.lemma.startswith(verb)


def _participants_agree(quote: Annotation, v: int, subject: Sequence[str]) -> bool:
    """The question's named participant is the quote verb's subject (by lemma or alias), or the quote leaves the
    subject unsaid (a participle, an infinitive) or the question names it by a pronoun."""
    from qa import relations

    theirs = _subject_lemmas(quote, v)
    ours = [s for s in subject if s not in ("i", "we", "you", "he", "she", "it", "they")]
    if not ours or not theirs:
        return True
    ok = {relations.key(x) for x in theirs} | {relations.key(c.antecedent.text) for c in quote.corefs}
    return bool({relations.key(x) for x in ours} & ok)


def _filler(quote: Annotation, v: int, role: str) -> int | None:
    kids = quote.children(v)
    passive = _passive(quote, v)
    if role == "subj":
        if passive:
            agent = _first(quote, kids, ("agent",))
            return _first(quote, quote.children(agent), ("pobj",)) if agent is not None else None
        return _first(quote, kids, ("nsubj", "csubj"))
    if role in ("obj", "pass"):
        return _first(quote, kids, ("nsubjpass",)) if passive else _first(quote, kids, ("dobj", "attr", "oprd"))
    if role.startswith("prep:"):
        p = next((k for k in kids if quote.tokens[k].dep == "prep" and quote.tokens[k].lemma == role[5:]), None)
        return _first(quote, quote.children(p), ("pobj", "pcomp")) if p is not None else None
    return None


def _phrase(quote: Annotation, j: int, params: ShortAnswerParams = PARAMS) -> str:
    """Token j's phrase: its subtree, cut where a clause of its own begins (punctuation, a relative clause) and
    back to its noun chunk when still long; a pronoun is given as what it stands for."""
    t = quote.tokens[j]
    for c in quote.corefs:
        if c.start <= t.start and t.end <= c.end and c.antecedent.text in quote.text:
            return c.antecedent.text
    lo, hi = quote.subtree(j)
    end = hi
    for k in range(j + 1, hi + 1):
        tk = quote.tokens[k]
        if quote.token_text(k) in _PUNCT_CUT or tk.dep in ("relcl", "advcl", "appos") \
                or (tk.dep == "prep" and tk.head != j and quote.tokens[tk.head].dep == "pobj"):
            end = k - 1  # a clause of its own, or a phrase hanging off an attachment ("agreement through
            break        # negotiations [with Moscow]")
    start = lo
    for k in range(j - 1, lo - 1, -1):
        if quote.token_text(k) in _PUNCT_CUT:
            start = k + 1
            break
    if end - start + 1 > params.max_phrase_tokens:
        chunk = next(((s, e) for s, e in quote.chunks if s <= t.start and t.end <= e), None)
        if chunk:
            return quote.text[chunk[0]:chunk[1]].strip(_QUOTE_MARKS + " ")
    return quote.text[quote.tokens[start].start:quote.tokens[end].end].strip(_QUOTE_MARKS + " ")


def _with_attachment(quote: Annotation, v: int, j: int, phrase: str, asked: set[str]) -> str:
    """An object with the prepositional phrase that follows it on the same verb ("enhance [their contributions]
    [to European security]"): the parse often hangs it on the verb, the reader reads it with the object."""
    lo, hi = quote.subtree(j)
    nxt = hi + 1
    if nxt < len(quote.tokens) and quote.tokens[nxt].head == v and quote.tokens[nxt].dep == "prep" \
            and _first(quote, quote.children(nxt), ("pobj",)) is not None:
        plo, phi = quote.subtree(nxt)
        more = quote.text[quote.tokens[plo].start:quote.tokens[phi].end]
        if not _content(quote, more) <= asked and not any(quote.token_text(k) in _PUNCT_CUT for k in range(plo, phi + 1)):
            start = quote.text.find(phrase)
            return quote.text[start:quote.tokens[phi].end] if start >= 0 else phrase
    return phrase


def _content(a: Annotation, text: str) -> set[str]:
    s = a.text.find(text)
    return {t.lemma for t in a.tokens if s <= t.start and t.end <= s + len(text)
            and t.pos in ("PROPN", "NOUN", "NUM", "ADJ", "VERB")} if s >= 0 else set()


def _by_slot(slot: Slot, quotes: Sequence[Annotation], asked: set[str], nominal: bool = False) -> str | None:
    """The argument of the quote's matching verb in the slot the wh-phrase fills ("Which body adopted a
    resolution?" -> the subject of "adopted"; "What must Europeans enhance?" -> its object, with its
    prepositional attachments: "their contributions to European security")."""
    if slot.verb in ("do", "be") and slot.role != "poss":
        return None  # "what did X do", "what is X": the action and noun rules read these
    stranded = slot.stranded
    for quote in quotes:
        if slot.role == "poss":
            for i, t in enumerate(quote.tokens):
                if t.lemma == slot.noun:
                    p = _first(quote, quote.children(i), ("poss",))
                    if p is not None and quote.tokens[p].pos != "PRON":
                        return _phrase(quote, p).removesuffix("’s").removesuffix("'s")
            continue
        for v, t in enumerate(quote.tokens):
            if not _same_event(slot.verb, t, nominal) or not _participants_agree(quote, v, slot.subject):
                continue
            j = _filler(quote, v, slot.role)
            if j is None and slot.role == "obj" and stranded:  # "What did Trump advocate for?": "advocating for X"
                j = _filler(quote, v, f"prep:{stranded}")
            if j is not None and slot.role == "obj" and quote.tokens[j].lemma in asked \
                    and quote.tokens[v].dep in ("xcomp", "advcl"):  # "imposing sanctions to undermine X's efforts"
                j = _filler(quote, quote.tokens[v].head, "obj")   # asked about X: what is imposed
            if j is None and slot.role == "subj":
                tr = next((tr for tr in quote.triples if tr.at == v and tr.subj is not None), None)
                if tr is not None and tr.subj.text in quote.text and not set(tr.subj.heads) <= asked:
                    return tr.subj.text
            if j is None:
                continue
            phrase = _phrase(quote, j)
            if slot.role == "obj":
                phrase = _with_attachment(quote, v, j, phrase, asked)
            lemmas = _content(quote, phrase)
            if phrase and lemmas and not lemmas <= asked and (quote.tokens[j].lemma not in asked
                                                              or quote.tokens[j].lemma == slot.noun):
                return phrase
    return None


def _kind_of(noun: str, quotes: Sequence[Annotation], asked: set[str]) -> str | None:
    """"What kind of N": the quote's noun phrase headed by N that qualifies it ("an “economic” agreement")."""
    for quote in quotes:
        for s, e in quote.chunks:
            toks = [t for t in quote.tokens if s <= t.start and t.end <= e]
            if toks and toks[-1].lemma == noun and any(t.lemma not in asked and t.pos in ("ADJ", "NOUN", "PROPN", "VERB")
                                                     for t in toks[:-1]):
                return quote.text[s:e]
    return None


def _qualities(noun_lemmas: Sequence[str], quotes: Sequence[Annotation], asked: set[str]) -> str | None:
    """"How did X describe Y?" when the quote does not use the verb: how the quote qualifies Y ("very constructive
    discussions" -> "very constructive")."""
    for quote in quotes:
        for i, t in enumerate(quote.tokens):
            if t.lemma not in noun_lemmas or t.pos != "NOUN":
                continue
            mods = [k for k in quote.children(i) if k < i and quote.tokens[k].dep == "amod"]
            if mods:
                lo = min(quote.subtree(k)[0] for k in mods)
                hi = max(quote.subtree(k)[1] for k in mods)
                text = quote.text[quote.tokens[lo].start:quote.tokens[hi].end].strip(_QUOTE_MARKS + " ")
                if text and not _content(quote, text) <= asked:
                    return text
    return None


def _action(quote: Annotation, v: int, asked: set[str]) -> str:
    """What the subject did: the verb with its particle and the complements the question does not already say
    ("abstain", not "abstain from the final vote on its own resolution" when the question names the vote)."""
    end = v
    for k in sorted(quote.children(v)):
        if k < v:
            continue
        if quote.tokens[k].dep in ("punct", "cc", "conj", "advcl", "mark"):
            break
        lo, hi = quote.subtree(k)
        said = _content(quote, quote.text[quote.tokens[lo].start:quote.tokens[hi].end])
        if quote.tokens[k].dep != "prt" and len(said - asked) * 2 <= len(said):
            break  # mostly what the question already says
        end = hi
    return _clause_from(quote, quote.tokens[v].start)[: quote.tokens[end].end - quote.tokens[v].start].strip()


# --- developer documentation: inline code, documented defaults, alternatives, polarity ---------------------------

def _words(text: str) -> set[str]:
    """A code value's words: an identifier's parts (`allow_headers` -> allow, headers), else its lower-cased text."""
    split = identifier_words(text)
    return set(" ".join(split).split()) if split else {w for w in re.split(r"\W+", text.lower()) if w}


def _terms(a: Annotation) -> set[str]:
    """What a text says, for matching a question against a quote: content lemmas, their written forms and the
    words of the identifiers it names."""
    out = set()
    for i, t in enumerate(a.tokens):
        if t.pos in ("PROPN", "NOUN", "NUM", "ADJ", "VERB", "ADV") and t.dep != "aux":
            out |= {t.lemma, a.token_text(i).lower()}
    return out | set(" ".join(identifier_words(a.text)).split())


def _names(a: Annotation) -> set[str]:
    """The words of the code names (`websocket_connect`, `params=`) and proper names a question mentions."""
    out = set(" ".join(identifier_words(a.text)).split())
    out |= {w.lower() for m in _IDENT_LIKE.finditer(a.text) for w in re.split(r"\W+", m.group()) if w}
    return out | {t.lemma for t in a.tokens if t.pos == "PROPN"}


_IDENT_LIKE = re.compile(r"\b\w+(?:[_.]\w+)+\b|\b\w+(?==)|\b\w+\(\)")


def _sentence(a: Annotation, pos: int) -> tuple[int, int]:
    return next(((s, e) for s, e in a.sents if s <= pos < e), (0, len(a.text)))


def _wh_noun(q: Annotation) -> str:
    """The lemma of the head of the noun phrase a which/what opens ("Which caching-related headers" -> header)."""
    wh = next((i for i, t in enumerate(q.tokens) if t.tag in ("WDT", "WP")), None)
    if wh is None:
        return ""
    for s, e in q.chunks:
        toks = [t for t in q.tokens if s <= t.start and t.end <= e]
        if s <= q.tokens[wh].start < e and len(toks) > 1 and toks[-1].pos in ("NOUN", "PROPN"):
            return toks[-1].lemma
    return ""


_KEYWORD_DEFAULT = re.compile(r"[(,]\s*(\w+)=([^,()\s]+)")  # name=value inside a call's parentheses


_VERSION_NOUNS = frozenset({"version", "release"})
VERSION_NUMBER = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)+(?![\w.])")


def asks_version(question: str, annotator: Annotator | None = None) -> bool:
    """Whether the thing asked for is a release of the documented software ("Which version dropped Python 3.8?",
    "starlette version that dropped python 3.8?"): "version"/"release" opened by which/what, or the head of a
    question without a verb of its own; not "what version of Python ..." (a version of something else)."""
    q = (annotator or default_annotator()).annotate(question)
    for i, t in enumerate(q.tokens):
        if t.lemma not in _VERSION_NOUNS or t.pos != "NOUN":
            continue
        children = [c for c in q.tokens if c.head == i and c is not t]
        if any(c.lemma == "of" and c.dep == "prep" for c in children):
            return False
        if t.dep == "ROOT" or any(c.tag in ("WDT", "WP") for c in children):
            return True
    return False


def version_from_headings(headings: Sequence[str]) -> str | None:
    """A release number from the heading a cited quote is under (a changelog entry sits under "## 0.45.0 (December
    29, 2024)": the entry says what changed, the heading says in which version): `headings` is, per cited quote,
    its heading path nearest first; the first quote under a version heading answers."""
    for path in headings:
        m = VERSION_NUMBER.search(path)
        if m:
            return m.group().lstrip("v")
    return None


def _counted(q: Annotation) -> str:
    """The noun "how many/much" counts ("How many uploaded files does ... allow?" -> file), from the parse."""
    for i, t in enumerate(q.tokens[1:], 1):
        if t.lemma in ("many", "much") and q.tokens[i - 1].lemma == "how" and 0 <= t.head < len(q.tokens) \
                and q.tokens[t.head].pos in ("NOUN", "PROPN"):
            return q.tokens[t.head].lemma
    return ""


def _code_values(quote: Annotation) -> list[tuple[int, int, str, bool, str]]:
    """Inline code spans of a quote: (start, end, text, is_term, keyword), is_term for a list item's name
    ("`max_age` - ...": the thing the item describes, not a value of it); and the default values of a
    signature's keyword arguments (`request.form(max_files=1000)` -> `1000`, keyword `max_files`): the value
    of the keyword whose name holds the asked noun answers "How many files does form() allow by default?"."""
    out = []
    for m in _CODE.finditer(quote.text):
        for kw in _KEYWORD_DEFAULT.finditer(m.group(1)):  # a signature's defaults: `form(max_files=1000, ...)`
            at = m.start(1) + kw.start(2)
            out.append((at, at + len(kw.group(2)), kw.group(2), False, kw.group(1)))
        before = quote.text[: m.start()].rstrip(" *-+")
        line_start = before == "" or before.endswith("\n")
        after = quote.text[m.end(): m.end() + 3]
        s, e = m.start(1), m.end(1)
        inner = quote.text[s:e]
        strip = len(inner) - len(inner.lstrip("\"'")), len(inner) - len(inner.rstrip("\"'"))
        if strip[0] and strip[1] and len(inner) > strip[0] + strip[1]:
            s, e = s + strip[0], e - strip[1]
        out.append((s, e, quote.text[s:e], line_start and after.lstrip().startswith(("-", "–", ":")), ""))
    return sorted(out)


def _by_code(q: Annotation, want: "Expected", quotes: Sequence[Annotation], plural: bool, noun: str = "",
             params: ShortAnswerParams = PARAMS, literal: bool = False) -> str | None:
    """A what/which/how-many question over documentation: the value or name a quote gives as inline code, in the
    sentence sharing most of the question's words ("Defaults to `9`" for "what compression level is used by
    default?"). Code the question already names is not an answer; a list item's name answers only when its words
    hold the asked noun ("which middleware" -> `ServerErrorMiddleware`). A plural question gets the whole
    coordination of code values ("`Content-Length`, `Last-Modified` and `ETag`")."""
    qwords = _terms(q)
    qnouns = {t.lemma for t in q.tokens if t.pos in ("NOUN", "PROPN")}
    best = None
    for rank, quote in enumerate(quotes):
        values = _code_values(quote)
        for n, (s, e, text, term, keyword) in enumerate(values):
            if keyword:  # a keyword's default answers only for the keyword the question's noun names
                kw_words = [w for w in _words(keyword) if len(w) > 2]
                if not noun or not all(any(w.startswith(n) or n.startswith(w) for w in kw_words) for n in _words(noun)):
                    continue  # every word of the asked noun in the keyword's name (`max_part_size`, not `max_files`)
                if want.kind == "number" and not re.search(r"\d", text):
                    continue
                cand = (True, 1, -rank, -s, text)
                if best is None or cand[:4] > best[:4]:
                    best = cand
                continue
            words = _words(text)
            plain = text.isalnum()  # a plain word is named by the question only as a noun ("accept" the verb is not `Accept`)
            if not words or (plain and text.lower() in qnouns) or (not plain and re.search(
                    r"(?<![\w.])" + re.escape(text) + r"(?!\w)", q.text, re.I)):
                continue  # the question names it ("for datetimes": `datetime`)
            name = _words(re.split(r"[(=\s]", text.strip())[0] or text)  # the name, not its arguments
            noun_hit = bool(noun) and any(w.startswith(noun) or noun.startswith(w) for w in name if len(w) > 2)
            if term and not noun_hit:
                continue
            if want.kind == "number" and not re.search(r"\d", text):
                continue
            if literal and not (_LITERAL.fullmatch(text.strip("`")) and _about(quote.text, noun, q.text)):
                continue  # a value (a number, a quoted string, a constant), not a parameter's name, of the asked thing
            ss, se = _sentence(quote, s)
            sent = quote.view(ss, se)
            outside = [t for t in sent.tokens if not (s - ss - 1 <= t.start and t.end <= e - ss + 1)]
            said = {t.lemma for t in outside if t.pos in ("PROPN", "NOUN", "NUM", "ADJ", "VERB", "ADV")}
            said |= set(" ".join(identifier_words(quote.text[ss:s] + " " + quote.text[e:se])).split())
            overlap = len(qwords & said)  # what the sentence says around the value
            if overlap < params.code_min_overlap and not noun_hit:
                continue
            start, end = s, e
            if plural:  # `A`, `B` and `C`: the whole list
                for s2, e2, _, _, kw in values[n + 1:]:
                    if kw:
                        continue
                    gap = quote.text[end:s2].strip("`\"' ")
                    if gap not in (",", "and", ", and", "or", ", or"):
                        break
                    end = e2
                if end != e and quote.text[s - 1:s] == "`" and quote.text[end:end + 1] == "`":
                    start, end = s - 1, end + 1
            cand = (noun_hit, overlap, -rank, -s, quote.text[start:end])
            if best is None or cand[:4] > best[:4]:
                best = cand
    return best[4] if best else None


_SETTING = re.compile(r"\b\w+(?:[_.]\w+)+\b")  # a setting's own name: `max_age`, PERMANENT_SESSION_LIFETIME


def _about(quote: str, noun: str, question: str) -> bool:
    """Whether the quote is about the thing whose value is asked: it has the asked noun ("level" in `compresslevel`), or
    a setting's name the question gives ("the default value of `max_age`"). A class the question names owns the
    setting without being it ("the default request timeout of TestClient": a quote on TestClient's port is not)."""
    text = quote.lower()
    return noun.lower() in text or any(m.group().lower() in text for m in _SETTING.finditer(question))


_LITERAL = re.compile(r"[-+]?\d[\d_.,]*\s*\w*|[\"'].*[\"']|True|False|None|\[.*\]|\{.*\}|\(.*\)")


def _alternatives(q: Annotation) -> list[set[str]] | None:
    """"Is X shallow or deep?", "inline or attachment by default?": the two alternatives the question offers,
    each as the lemmas that tell it from the other. Named things ("X or Y" between two entities) are
    comparisons, left to qa/compare.py."""
    for i, t in enumerate(q.tokens):
        if t.dep != "cc" or t.lemma != "or":
            continue
        a = t.head
        b = next((k for k in q.children(a) if q.tokens[k].dep == "conj" and k > i), None)
        if b is None:
            continue
        if any(q.tokens[k].pos in ("PROPN", "PRON") or q.tokens[k].ent for k in (a, b)):
            return None
        after = [k for k in range(q.subtree(b)[1] + 1, len(q.tokens)) if q.tokens[k].pos != "PUNCT"]
        if after and q.tokens[after[0]].dep != "prep":
            continue  # the question goes on past them ("From X or Y, how do I ..."): not what it asks to choose
        la = {q.tokens[k].lemma for k in range(q.subtree(a)[0], a + 1) if q.tokens[k].pos in ("NOUN", "ADJ", "VERB", "ADV")}
        lb = {q.tokens[k].lemma for k in range(q.subtree(b)[0], b + 1) if q.tokens[k].pos in ("NOUN", "ADJ", "VERB", "ADV")}
        la, lb = la - lb, lb - la
        if la and lb:
            return [la, lb]
    return None


def _depth(a: Annotation, i: int) -> int:
    d = 0
    while a.tokens[i].head not in (i, -1) and d < 50:
        i, d = a.tokens[i].head, d + 1
    return d


def _negated(a: Annotation, i: int) -> bool:
    """A negation on the token or on a verb above it ("is *not* wrapped", "does not follow")."""
    seen = 0
    while seen < 50:
        if any(a.tokens[k].dep == "neg" for k in a.children(i)):
            return True
        if a.tokens[i].head in (i, -1):
            return False
        i, seen = a.tokens[i].head, seen + 1
    return False


def _choose(alts: list[set[str]], quotes: Sequence[Annotation]) -> str | None:
    """The alternative the quotes state: the only one they mention, else the one that is not negated and sits
    highest in its sentence's parse ("Warn instead of raise": warn)."""
    for quote in quotes:
        found = []
        for n, lemmas in enumerate(alts):
            for i, t in enumerate(quote.tokens):
                if t.lemma in lemmas or quote.token_text(i).lower() in lemmas:
                    found.append((_negated(quote, i), _depth(quote, i), n, i))
                    break
        if not found:
            continue
        found.sort()
        if len({f[2] for f in found}) == 2 and found[0][:2] == found[1][:2]:
            return None  # both, on an equal footing
        i = found[0][3]
        return quote.token_text(i)
    return None


def _boolean_default(q: Annotation, quotes: Sequence[Annotation]) -> str | None:
    """A yes/no question about a setting the docs give a boolean default ("Defaults to `False`"): No / Yes,
    from the quote that shares most of the question's words."""
    qwords = _terms(q)
    best = None
    for quote in quotes:
        for s, e, text, term, keyword in _code_values(quote):
            if term or keyword or text.lower() not in _BOOLEAN:
                continue
            overlap = len(qwords & _terms(quote))
            if overlap >= 2 and (best is None or overlap > best[0]):
                best = (overlap, _BOOLEAN[text.lower()])
    return best[1] if best else None


def _by_polarity(q: Annotation, quotes: Sequence[Annotation], params: ShortAnswerParams = PARAMS) -> str | None:
    """A yes/no question the relation check cannot pair (a paraphrase, a docs sentence): read the polarity of the
    quote sentence that holds most of the question's words (or of the names it asks about). The sentence negated
    where the question is not ("The `params` argument is not supported by `websocket_connect`", "cannot be set to
    ['*']") -> No. Word overlap alone never makes a Yes."""
    qwords = _terms(q) - {t.lemma for t in q.tokens if t.pos == "AUX"}
    names = _names(q)  # what the question is about, when it names code or proper names
    qneg = any(t.dep == "neg" for t in q.tokens)
    qverbs = {t.lemma for t in q.tokens if t.pos == "VERB"}
    if not qwords or not qverbs:
        return None
    best = None
    for quote in quotes:
        for s, e in quote.sents:
            sent = quote.view(s, e)
            terms = _terms(sent)
            cover = max(len(qwords & terms) / len(qwords), len(names & terms) / len(names) if names else 0.0)
            if cover >= params.polar_coverage and (best is None or cover > best[0]):
                best = (cover, sent)
    if best is None:
        return None
    sent = best[1]
    if any(t.dep == "neg" for t in sent.tokens) and not qneg:
        return "No"
    return None  # a Yes needs the question's relation stated (relations.check, in `_polar`), not its words


def asks_for_thing(question: str, annotator: Annotator | None = None) -> bool:
    """Whether the question asks for a thing a short answer can give (see `expected`)."""
    return expected((annotator or default_annotator()).annotate(question)) is not None


def short_answer(question: str, quotes: Sequence[str], annotator: Annotator | None = None) -> str | None:
    """The phrase of one of `quotes` that answers `question`, "Yes"/"No", or None (see the module docstring)."""
    quotes = [q for q in quotes if q and q.strip()]
    if not quotes:
        return None
    annotator = annotator or default_annotator()
    phrase = _whole_code(_short_answer(question, quotes, annotator), quotes)
    if not phrase or phrase in ("Yes", "No"):
        return phrase or None
    phrase = _whole_identifier(_tidy(phrase, annotator), quotes)  # after tidying: its last "_" may read as punctuation
    if not phrase or _cut(phrase) or _restates(phrase, question, annotator) or _other_kind(phrase, question, annotator):
        return None
    return phrase


def _other_kind(phrase: str, question: str, annotator: Annotator) -> bool:
    """The phrase names another kind of thing than the one asked for: the asked noun only modifies its head
    ("What currency ...?" -> "currency code", a code; "Which river ...?" -> "river cruise")."""
    noun = _wh_noun(annotator.annotate(question))
    if not noun:
        return False
    ann = annotator.annotate(phrase)
    root = next((i for i, t in enumerate(ann.tokens) if t.dep == "ROOT"), None)
    if root is None or ann.tokens[root].lemma == noun:
        return False
    return any(t.lemma == noun and t.dep in ("compound", "amod", "nmod") and t.head == root for t in ann.tokens)


_TRAILING = ("ADP", "PART", "CCONJ", "SCONJ", "DET", "PUNCT")


def _tidy(phrase: str, annotator: Annotator) -> str:
    """A phrase never ends in a word that leads on ("valid reasons” to": a preposition, particle, conjunction or
    determiner, by the parser) nor in a quote mark it never opened; what is left is still a slice of its quote."""
    ann = annotator.annotate(phrase)
    end = len(phrase)
    for t in reversed(ann.tokens):
        if t.pos not in _TRAILING or phrase[t.start:t.end] in ")]}" or phrase[t.start:t.end].startswith(("`", "'")) \
                or t.start == 0:
            break
        end = t.start
    out = phrase[:end].rstrip()
    for opening, closing in (("“", "”"), ("‘", "’")):
        if out.endswith(closing) and out.count(opening) < out.count(closing):
            out = out[: -len(closing)].rstrip()
    return out


_LINK = re.compile(r"\]\(|https?://")


def _cut(phrase: str) -> bool:
    """A phrase cut out of its brackets ("websocket.close(code=1000") or holding a link's target ("[#2214](https://
    github.com/...") is markup, not an answer."""
    return bool(_LINK.search(phrase)) or any(phrase.count(o) != phrase.count(c) for o, c in ("()", "[]", "{}"))


_CONTENT = ("PROPN", "NOUN", "NUM", "ADJ", "VERB", "ADV", "X")


def _restates(phrase: str, question: str, annotator: Annotator) -> bool:
    """The phrase only says again what the question says ("What does html=True change for StaticFiles?" ->
    `StaticFiles`): every content word of it is a word of the question (as written, lower-cased, or as an
    identifier's words). Not for Yes/No, nor for a question that offers the alternatives ("X or Y?")."""
    if phrase in ("Yes", "No"):
        return False
    q_ann, p_ann = annotator.annotate_many([question, phrase])
    if _alternatives(q_ann):
        return False
    said = {w.lower() for w in re.findall(r"\w+", question)} | set(" ".join(identifier_words(question)).split())
    said |= _lemmas(q_ann)
    content = [p_ann.token_text(i) for i, t in enumerate(p_ann.tokens) if t.pos in _CONTENT]
    words = {w.lower() for c in content for w in re.findall(r"\w+", c)}
    return bool(words) and words <= said


def _whole_code(phrase: str | None, quotes: Sequence[str]) -> str | None:
    """A phrase never cuts an inline code span in half: the parser's noun chunk "env_prefix` argument" (from
    "setting `env_prefix` argument") takes back its opening backtick, so that it is still a slice of the quote."""
    if not phrase or phrase.count("`") % 2 == 0:
        return phrase
    for quote in quotes:
        at = quote.find(phrase)
        while at >= 0:
            inside = quote[:at].count("`") % 2 == 1  # the phrase starts inside a code span
            if inside and at > 0 and quote[at - 1] == "`":
                return quote[at - 1 : at + len(phrase)]
            end = at + len(phrase)
            if not inside and quote[end : end + 1] == "`":
                return quote[at : end + 1]
            at = quote.find(phrase, at + 1)
    return phrase.strip("`") if phrase.count("`") == 1 else phrase


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _whole_identifier(phrase: str, quotes: Sequence[str]) -> str:
    """A phrase inside an inline code span never cuts an identifier in half: the tokenizer's "__attrs_pre_init"
    (of "`__attrs_pre_init__`") takes back the word characters it lost on either side, within the span."""
    for quote in quotes:
        for m in _CODE_SPAN.finditer(quote):
            at = quote.find(phrase, m.start(2), m.end(2))
            if at < 0:
                continue
            s, e = at, at + len(phrase)
            while s > m.start(2) and (quote[s - 1].isalnum() or quote[s - 1] == "_"):
                s -= 1
            while e < m.end(2) and (quote[e].isalnum() or quote[e] == "_"):
                e += 1
            return quote[s:e]
    return phrase


def _short_answer(question: str, quotes: Sequence[str], annotator: Annotator | None) -> str | None:
    annotator = annotator or default_annotator()
    q_ann, *anns = annotator.annotate_many([question, *quotes])
    want = expected(q_ann)
    alts = _alternatives(q_ann)
    if alts:  # "Is X shallow or deep?", "what does X do - raise or warn?": the one the quotes state
        found = _choose(alts, anns)
        if found:
            return found
    if want is None:
        return None
    asked = _asked(q_ann)
    if want.kind == "polar":
        found = _polar(q_ann, anns) if want.slot != "elliptical" else None
        return found or _boolean_default(q_ann, anns) or _by_polarity(q_ann, anns)
    # the quotes that say most of what the question says first ("How did the US vote on its own resolution?": the
    # quote about its own resolution, not the one about another resolution that has the US voting too)
    cover = [len(asked & _lemmas(a)) for a in anns]
    anns = [a for _, a in sorted(zip(cover, anns), key=lambda x: -x[0])]
    if want.kind == "manner":  # how someone acted is read from the quotes that tell the event the question asks about
        anns = anns[: sum(1 for c in cover if c == max(cover))]
    slot = _slot(q_ann) if want.kind != "manner" else None
    if not want.verb and slot is not None and slot.verb not in ("", "do", "be"):
        want = replace(want, verb=slot.verb)  # the parse gave the clause no triple ("what does the DNA test for")
    noun = _wh_noun(q_ann) or want.noun or (slot.noun if slot else "") or _counted(q_ann)
    literal = False
    if not noun and want.verb == "be" and want.subject:  # "What is the default level of X?": a value, not a name
        noun, literal = want.subject[-1], True
    if (want.kind == "number" or (want.kind == "thing" and noun and not (slot and slot.kind_of))) \
            and any(_CODE.search(a.text) for a in anns):  # a value or name (what/which <noun>), not an event
        plural = bool(noun) and any(t.tag in ("NNS", "NNPS") and t.lemma == noun for t in q_ann.tokens)
        found = _by_code(q_ann, want, anns, plural, noun, literal=literal)
        if found:
            return found
    if slot is not None and slot.kind_of:
        found = _kind_of(slot.noun, anns, asked)
        if found:
            return found
    if slot is not None and want.kind in ("person", "thing"):
        found = _by_slot(slot, anns, asked, nominal=want.kind == "person")
        if found:
            return found
    if slot is not None and want.kind in ("place", "time", "number"):  # "Which country has been imposing ...?"
        found = _by_slot(slot, anns, asked)
        for quote in anns:
            for s, e, lab in quote.ents if found and found in quote.text else ():
                at = quote.text.index(found)
                if lab in KIND_LABELS[want.kind] and at <= s and e <= at + len(found):
                    return quote.text[s:e]
    if want.kind in KIND_LABELS:
        for quote in anns:
            if want.verb and want.verb not in LIGHT_VERBS \
                    and not any(_same_event(want.verb, t, nominal=True) for t in quote.tokens):
                continue  # "Who will command the force?" / "When was X broadcast?": a name, date, place or number
                # in a quote that never tells the question's event (its verb, or a noun made from it) is no answer
            found = _entity(quote, KIND_LABELS[want.kind], asked, "where" if want.kind == "place" and not want.noun
                            else want.kind)
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
                return _action(quote, tr.at, asked) or None
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
    if want.kind == "manner":  # "How did X describe Y?" where the quotes qualify Y without the verb
        objects = [t.lemma for t in q_ann.tokens if t.dep == "dobj" and t.pos == "NOUN"]
        if objects and not any(_same_event(want.verb, t) for a in anns for t in a.tokens):
            found = _qualities(objects, anns, asked)
            if found:
                return found
    if want.kind == "manner" and want.subject:  # "chose to abstain from the final vote": what the subject did instead
        for quote in anns:
            for tr in quote.triples:
                if tr.subj and _matches(tr.subj.heads, want.subject) and tr.verb not in LIGHT_VERBS \
                        and tr.verb not in ("choose", "decide", "want", "try") and tr.verb != want.verb:
                    return _action(quote, tr.at, asked) or None
    if want.kind == "thing" and want.noun:
        for quote in anns:
            for s, e in quote.chunks:
                heads = {t.lemma for t in quote.tokens if t.start >= s and t.end <= e}
                if want.noun in heads and not heads <= asked:
                    return quote.text[s:e]
    if slot is not None and slot.mods:  # "Which French leader ...?": the name the quote qualifies the same way
        for quote in anns:
            for s, e in quote.chunks:
                lemmas = {t.lemma for t in quote.tokens if t.start >= s and t.end <= e}
                if set(slot.mods) & lemmas:
                    for es, ee, lab in quote.ents:
                        if s <= es and ee <= e and lab in _PERSONISH and not _content(quote, quote.text[es:ee]) <= asked:
                            return quote.text[es:ee]
    return None
