"""Relation-level support: does one evidence sentence (or an adjacent pair) say what the claim says, about
the same participants in the same roles?

Pure logic over `index.linguistics.Annotation`s (no spaCy here; unit-testable on hand-built annotations).
`check(claim, evidence)` answers (supported, reason), reason one of REASONS:

0. the claim's words are a stretch of the evidence's (spacing, case, punctuation aside)      -> `supported`
   (two parses of the same words can differ; the words cannot)
1. every number and date of the claim is in the evidence                       else `number_mismatch`
2. every named entity of the claim is in the evidence                          else `entity_mismatch`
3. every core triple of the claim (verb lemma + subject + object / prepositional objects, negation) is matched
   by an evidence triple with the same verb (lemma; verbs of saying stand for each other), after pronoun
   resolution and with passives turned round. When evidence triples with that verb exist but none matches:
   - same participants, one side negated                                      -> `negation`
   - a number inside a matched participant, or the time of the verb, differs  -> `number_mismatch`
   - subject and object swapped, or another name does it (the claim's subject named elsewhere)
                                                                               -> `role_mismatch`
   - the claim's subject does it, to something else (the evidence fills the same slot otherwise)
                                                                               -> `object_mismatch`
   A negated claim whose verb cannot be paired, against evidence with no negation at all -> `negation`.
4. a claim that states a cause ("because", "due to", "led to") needs evidence stating one  else `not_found`
5. the similarity prior (the verifier's lexical + embedding score) is at least `min_prior` else `not_found`.

A claim verb that the evidence does not have at all is left to the prior (a paraphrase: "backed" for
"supported") -- unless `contradiction()` finds the claim's event told otherwise elsewhere in the passages
(Grounder.verify asks it). Nothing here can turn a low prior into support; a relation mismatch always wins
over the prior. Arguments match by head lemma, by a head that is in the other's noun phrase, two names when
one is inside the other ("the UN" ~ "the UN General Assembly", never "European Union" ~ "European Trade
Union Confederation"), or by an alias (`ALIASES`: a handful of abbreviations and demonyms, "the US" ~ "the
United States"). Every threshold and switch is in `RelationParams`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Sequence

from index.linguistics import Annotation, Arg, Triple

REASONS = ("supported", "role_mismatch", "object_mismatch", "negation", "number_mismatch", "entity_mismatch",
           "not_found")

# Several names for one country/organisation, each mapped to one key. Applied to entity texts and heads.
ALIASES = {
    "us": "united states", "u.s.": "united states", "u.s": "united states", "usa": "united states",
    "america": "united states", "american": "united states", "americans": "united states",
    "united states of america": "united states", "washington": "united states",
    "uk": "united kingdom", "u.k.": "united kingdom", "britain": "united kingdom", "great britain": "united kingdom",
    "british": "united kingdom", "un": "united nations", "u.n.": "united nations",
    "eu": "european union", "russian": "russia", "russians": "russia", "moscow": "russia", "kremlin": "russia",
    "ukrainian": "ukraine", "ukrainians": "ukraine", "kyiv": "ukraine", "french": "france", "chinese": "china",
    "german": "germany", "germans": "germany", "european": "europe", "europeans": "europe",
}
# Verbs of saying report the same act ("Trump said" ~ "Trump noted").
SPEECH = frozenset("""say state note comment add assert indicate tell claim emphasize emphasise announce remark declare
explain insist argue warn write reply respond suggest stress""".split())
_NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
                      "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "thirty": "30", "forty": "40",
                      "fifty": "50", "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"})
# Closed-class words and verbs that state a cause (spaCy has no label for causal links).
NEGATIONS = frozenset("not never no without nobody nothing none neither nor".split())
CAUSAL_WORDS = frozenset("because due owing therefore thus hence consequently why".split())
CAUSAL_VERBS = frozenset("cause lead result prompt trigger spark".split())
_VAGUE = frozenset("it they them he him she her we us you i this that these those one which who what".split())
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DIGITS = re.compile(r"\d")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?")


@dataclass(frozen=True)
class RelationParams:
    """Every threshold of the relation check (and of how `Grounder.verify` uses it), in one place."""

    min_prior: float = 0.0  # a claim whose similarity prior is below this is unsupported (verify also applies its own threshold)
    top_spans: int = 3  # verify checks the best spans by the prior, this many, and picks the first that the relations support
    span_margin: float = 0.15  # ... among those within this of the best prior
    contradiction_margin: float = 1.0  # sentences searched for the claim's event told otherwise: prior >= threshold - this
    check_numbers: bool = True
    check_entities: bool = True
    check_roles: bool = True
    check_causal: bool = True  # a claim saying why ("because", "led to") needs evidence that says why too
    verbatim: bool = True  # a claim whose words are a stretch of the evidence's is supported without parsing
    require_verb: bool = False  # whether a claim whose verbs the evidence lacks is unsupported (else the prior decides)
    other_subject: bool = True  # a different name doing the claim's verb is a role mismatch ("Russia voted" / "the US voting")
    any_object_conflict: bool = True  # an object/prepositional slot filled otherwise conflicts (else only a participant
    # the claim names, put in another slot: "in favour of the resolution" / "against the resolution")
    light_verbs: frozenset = frozenset({"be", "have", "do", "get", "make", "take", "go", "come", "become"})
    entity_labels: frozenset = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT",
                                          "WORK_OF_ART", "LAW", "LANGUAGE"})
    number_labels: frozenset = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"})
    loose_prep_labels: frozenset = frozenset({"DATE", "TIME", "GPE", "LOC", "FAC"})  # adjuncts: checked as entities
    adjunct_labels: frozenset = frozenset({"DATE", "TIME"})  # ... and against the same preposition's time (tune: +1 catch;
    # with GPE/LOC/FAC also +1 false flag)


PARAMS = RelationParams()


@dataclass
class Facts:
    """What the relation check needs of a text (a claim, or one or two evidence sentences)."""

    triples: list[Triple] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    date_words: set[str] = field(default_factory=set)  # words of DATE/TIME entities that are not numbers
    entities: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    keys: set[str] = field(default_factory=set)  # every lemma, entity key and alias of the text
    causal: bool = False  # it states a cause ("because", "due to", "led to", "caused")
    negated: bool = False  # it has a negation anywhere ("not", "never", "no", "without")


def key(word: str) -> str:
    w = word.lower().strip().replace("’", "'")
    w = re.sub(r"^the\s+", "", w)
    w = re.sub(r"'s$|'$", "", w).strip()
    return ALIASES.get(w, w)


def number(word: str) -> str | None:
    w = word.lower().replace(",", "")
    m = _ORDINAL.match(w)
    if m:
        return str(int(m.group(1)))
    if _DIGITS.search(w):
        try:
            x = float(w.rstrip("%"))
            return str(int(x)) if x == int(x) else str(x)
        except ValueError:
            return w
    return _NUMBER_WORDS.get(w)


def facts(ann: Annotation, params: RelationParams = PARAMS) -> Facts:
    f = Facts(triples=list(ann.triples))
    in_ent: dict[int, str] = {}
    for s, e, label in ann.ents:
        text = ann.text[s:e]
        if label in params.entity_labels:
            f.entities.append((key(text), label))
            f.keys.add(key(text))
            f.keys.add(key(text).replace(" ", ""))  # "South East London" ~ "Southeast London"
        for i, t in enumerate(ann.tokens):
            if t.start >= s and t.end <= e:
                in_ent[i] = label
    for i, t in enumerate(ann.tokens):
        word = ann.text[t.start : t.end]
        f.keys.add(key(word))
        f.keys.add(key(t.lemma))
        n = number(word) if (t.pos == "NUM" or in_ent.get(i) in ("ORDINAL", "CARDINAL")) else None
        if _DIGITS.search(word):  # every number in the token ("max_files=1000", "10-2")
            for m in _NUMBER.finditer(word):
                f.numbers.add(number(m.group()) or m.group())
                f.keys.add(number(m.group()) or m.group())
        elif n is not None:
            f.numbers.add(n)
            f.keys.add(n)
        elif in_ent.get(i) in ("DATE", "TIME") and t.pos in ("PROPN", "NOUN") and word[:1].isupper():
            f.date_words.add(t.lemma)  # month and day names
    lemmas = [t.lemma for t in ann.tokens]
    f.negated = any(t.dep == "neg" or t.lemma in NEGATIONS for t in ann.tokens)
    f.causal = bool(CAUSAL_WORDS & set(lemmas)) or any(
        t.verb.split()[0] in CAUSAL_VERBS and (t.verb not in ("lead", "result") or t.preps) for t in ann.triples)
    for c in ann.corefs:  # what its pronouns stand for is named here too
        f.keys |= _arg_keys(c.antecedent)
    for t in ann.triples:
        for a in [t.subj, t.obj, *(x for _, x in t.preps)]:
            if a is not None and a.pronoun:
                f.keys |= _arg_keys(a)
    return f


def _arg_keys(a: Arg) -> set[str]:
    out = {key(h) for h in a.heads} | {key(x) for x in a.lemmas}
    if a.ent_text:
        out.add(key(a.ent_text))
    return out


def _head_keys(a: Arg) -> set[str]:
    out = {key(h) for h in a.heads}
    if a.ent_text:
        out.add(key(a.ent_text))
    return out


def args_match(claim: Arg | None, ev: Arg | None, attached: bool = False) -> bool:
    """The same participant: a head of one is the other's head, entity or a word of its noun phrase. With
    `attached`, the claim's may also be a noun the evidence attaches to its argument by a preposition (the
    claim attaching "on its own resolution" to the verb, the evidence to "the final vote")."""
    if claim is None or ev is None:
        return False
    if claim.ent_text and ev.ent_text and claim.ent not in ("PROPN",) and ev.ent not in ("PROPN",):
        # two names: the same name, or one inside the other ("Macron" / "Emmanuel Macron", "the UN" / "the UN
        # General Assembly"), never two names sharing a word ("European Union" / "European Trade Union ...")
        for a, b in ((key(claim.ent_text), key(ev.ent_text)), (claim.ent_text.lower(), ev.ent_text.lower())):
            if a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} ":
                return True
        if {key(h) for h in claim.heads} & {key(h) for h in ev.heads}:
            return True
        return attached and bool(_head_keys(claim) & {key(x) for x in ev.attached})
    if _head_keys(claim) & _arg_keys(ev) or _head_keys(ev) & _arg_keys(claim):
        return True
    return attached and bool(_head_keys(claim) & {key(x) for x in ev.attached})


def numbers_agree(claim: Arg | None, ev: Arg | None) -> bool:
    """The numbers inside a matched argument agree ("five frigates" is not "four frigates")."""
    if claim is None or ev is None:
        return True
    want = {n for n in (number(x) for x in claim.lemmas) if n}
    return not want or want <= {n for n in (number(x) for x in ev.lemmas) if n}


def verbs_match(a: str, b: str) -> bool:
    return a == b or (a in SPEECH and b in SPEECH)


def vague(a: Arg | None) -> bool:
    """An argument that says nothing checkable: absent, or a pronoun the claim itself does not resolve."""
    return a is None or (not a.pronoun and not a.ent and a.text.lower() in _VAGUE and not a.text.isupper())


def _core_args(tr: Triple, params: RelationParams) -> list[Arg]:
    """The arguments a claim triple must have matched: its object and prepositional objects that are not
    times or places (those are checked as entities and numbers), nor unresolved pronouns."""
    out = [tr.obj] if tr.obj is not None else []
    out += [a for _, a in tr.preps if a.ent not in params.loose_prep_labels]
    return [a for a in out if not vague(a)]


def _ev_args(tr: Triple) -> list[Arg]:
    return ([tr.obj] if tr.obj is not None else []) + [a for _, a in tr.preps]


def _all_args(t: Triple) -> list[Arg]:
    return [a for a in [t.subj, t.obj, *(x for _, x in t.preps)] if a is not None]


def _adjunct_conflict(c: Triple, e: Triple, params: RelationParams) -> str | None:
    """A time or place of the claim's verb that the evidence's verb gives otherwise, with the same preposition
    and the same kind of entity ("released on 18 February 2002" / "released on 17 September 2001"; "in the
    United Kingdom" / "in the United States": places only when `adjunct_labels` has them -- a place may hold
    another, "in Brooklyn" / "in New York"). Times and places the evidence leaves out are checked only as
    numbers and entities."""
    for p, a in c.preps:
        if a.ent not in params.adjunct_labels:
            continue
        same = [b for q, b in e.preps if q == p and b.ent == a.ent]
        if same and not any(args_match(a, b) and numbers_agree(a, b) for b in same):
            return "number_mismatch" if a.ent in ("DATE", "TIME") else "object_mismatch"
    return None


def _conflicts(a: Arg, c: Triple, e: Triple, claim_keys: set[str], any_filler: bool = True,
               core: Sequence[Arg] = ()) -> bool:
    """Whether the evidence triple `e` says something else where the claim triple `c` has `a`, which `e` lacks.
    The object: when `e` has an object (an agentless passive's subject counts). A prepositional object: when
    `e` fills the same preposition with something else ("against the invasion" / "against the resolution"), or
    puts a participant the claim names under another preposition ("in favour of the resolution" / "against
    the resolution"). Otherwise (an empty slot, an adjunct the evidence leaves out: "in the end") it does not:
    parsers lose arguments across quotes and asides, and a claim may add a harmless adverbial."""
    if not any_filler:
        return any(_head_keys(b) & claim_keys and not any(args_match(x, b, attached=True) for x in core)
                   for b in _ev_args(e))
    if a is c.obj:
        return e.obj is not None or (e.subj is not None and c.subj is None)
    prep = next(p for p, x in c.preps if x is a)
    for p, b in e.preps:
        if p == prep or _head_keys(b) & claim_keys:
            return True
    return False


def match_triple(c: Triple, evidence: Sequence[Triple], params: RelationParams = PARAMS) -> str:
    """"supported", a mismatch reason, or "unknown" when the evidence has no triple with the claim's verb."""
    candidates = [e for e in evidence if verbs_match(c.verb, e.verb)]
    if not candidates:
        return "unknown"
    found: list[str] = []
    claim_keys = set().union(*(_arg_keys(a) | {key(x) for x in a.attached} for a in _all_args(c)))
    for e in candidates:
        subj_known = vague(c.subj) or args_match(c.subj, e.subj)
        subj_ok = subj_known or e.subj is None  # a subject the evidence does not give is no conflict ...
        core = _core_args(c, params)
        ev_args = _ev_args(e)
        if c.subj is None and e.obj is None and e.subj is not None:
            ev_args.append(e.subj)  # an agentless passive read the other way round by the parser
        objs_ok = all(any(args_match(a, b, attached=True) for b in ev_args)
                      or not _conflicts(a, c, e, claim_keys, params.any_object_conflict, core) for a in core)
        if subj_ok and objs_ok:
            if c.neg != e.neg:
                found.append("negation")
                continue
            pairs = [(c.subj, e.subj)] + [(a, b) for a in core for b in ev_args if args_match(a, b, attached=True)]
            if params.check_numbers and not all(numbers_agree(a, b) for a, b in pairs if args_match(a, b, attached=True)):
                found.append("number_mismatch")
                continue
            adjunct = _adjunct_conflict(c, e, params)
            if adjunct:
                found.append(adjunct)
                continue
            return "supported"
        if not params.check_roles:
            continue
        if c.verb in params.light_verbs:
            continue  # "is ready" / "is prepared": a light verb's other complement is a paraphrase as often as not
        if e.subj is None and not subj_known:
            continue  # ... nor evidence that someone else was meant
        if not ev_args and e.subj is None:
            continue  # a bare verb ("Constructed starting on ...") says nothing against the claim
        if subj_ok:
            # the subject does it to something else -- unless the claim's object is the evidence's subject
            if c.subj is not None and e.subj is not None and any(args_match(a, e.subj) for a in core):
                found.append("role_mismatch")
            else:
                found.append("object_mismatch")
            continue
        swapped = any(args_match(c.subj, b) for b in ev_args) or any(args_match(a, e.subj) for a in core)
        if swapped:
            found.append("role_mismatch")
        elif params.other_subject and c.subj.ent and e.subj.ent:  # two names: someone else does it (descriptions may be one)
            found.append("other_subject")
    for reason in ("negation", "number_mismatch", "object_mismatch", "role_mismatch", "other_subject"):
        if reason in found:
            return reason
    return "unknown"


def core_triples(ann_or_facts, params: RelationParams = PARAMS) -> list[Triple]:
    """The claim triples that carry its meaning: not a bare light verb ("is", "has") without arguments."""
    triples = ann_or_facts.triples
    return [t for t in triples if t.verb not in params.light_verbs or t.obj is not None or t.preps]


def check(claim: Annotation, evidence: Sequence[Annotation], prior: float | None = None,
          params: RelationParams = PARAMS) -> tuple[bool, str]:
    """Whether the evidence (one sentence, or two adjacent ones) supports the claim, and why (not)."""
    if params.verbatim and verbatim(claim.text, " ".join(a.text for a in evidence)):
        return True, "supported"  # quoted word for word: two parses of the same words may differ, the words do not
    cf = facts(claim, params)
    ef = Facts()
    for ann in evidence:
        x = facts(ann, params)
        ef.triples += x.triples
        ef.numbers |= x.numbers
        ef.date_words |= x.date_words
        ef.entities += x.entities
        ef.keys |= x.keys
        ef.causal = ef.causal or x.causal
        ef.negated = ef.negated or x.negated
    if params.check_numbers and (cf.numbers - ef.numbers or {w for w in cf.date_words if key(w) not in ef.keys}):
        return False, "number_mismatch"
    raw = " " + _NON_WORD.sub(" ", " ".join(a.text for a in evidence).lower()) + " "
    if params.check_entities and any(k not in ef.keys and k.replace(" ", "") not in ef.keys and not _words_in(k, ef.keys)
                                     and f" {_NON_WORD.sub(' ', k).strip()} " not in raw for k, _ in cf.entities):
        return False, "entity_mismatch"
    core = core_triples(cf, params)
    statuses = [match_triple(t, ef.triples, params) for t in core]
    statuses = ["role_mismatch" if s == "other_subject" else s for s in statuses]
    if not ef.negated and any(t.neg and s == "unknown" for t, s in zip(core, statuses)):
        statuses.append("negation")  # a negated claim the parse cannot pair up, against evidence with no negation
    for reason in ("negation", "number_mismatch", "role_mismatch", "object_mismatch"):
        if reason in statuses:
            return False, reason
    if params.check_causal and cf.causal and not ef.causal:
        return False, "not_found"  # the facts may be there, the link between them is not
    if prior is not None and prior < params.min_prior:
        return False, "not_found"
    if params.require_verb and statuses and "supported" not in statuses:
        return False, "not_found"
    return True, "supported"


def contradiction(claim: Annotation, sentences: Sequence[Annotation], params: RelationParams = PARAMS) -> str | None:
    """For a claim whose best quote lacks its verbs: a mismatch reason when the passages tell the same event
    otherwise elsewhere (the same verb with the claim's subject but another object, the roles swapped, or the
    other polarity) and nowhere as the claim does; else None."""
    loose = replace(params, other_subject=False, any_object_conflict=False)
    triples = [t for t in core_triples(claim, params) if not vague(t.subj)]  # only an event whose doer is named
    if not triples:
        return None
    told = replace(params, other_subject=False)
    found: list[str] = []
    for t in triples:  # a triple told as the claim tells it somewhere is fine; one told only otherwise is not
        if any(match_triple(t, list(sent.triples), told) == "supported" for sent in sentences):
            continue
        found += [match_triple(t, list(sent.triples), loose) for sent in sentences]
    return next((r for r in ("negation", "number_mismatch", "role_mismatch", "object_mismatch") if r in found), None)


_NON_WORD = re.compile(r"[\W_]+")


def verbatim(claim: str, evidence: str) -> bool:
    """The claim's words, in order, are a stretch of the evidence's (case, spacing and punctuation aside)."""
    c = _NON_WORD.sub(" ", claim.lower()).strip()
    return bool(c) and f" {c} " in f" {_NON_WORD.sub(' ', evidence.lower()).strip()} "


def _words_in(k: str, keys: set[str]) -> bool:
    """A several-word name whose words are all in the evidence ("emmanuel macron" when both words occur)."""
    parts = k.split()
    return len(parts) > 1 and all(key(p) in keys for p in parts)
