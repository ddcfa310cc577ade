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
   - subject and object swapped, or another name does it (the claim's subject named elsewhere), or a
     description that is not the claim's named subject does it to the claim's object -> `role_mismatch`
   - the claim's subject does it, to something else (the evidence fills the same slot otherwise)
                                                                               -> `object_mismatch`
   A negated claim whose verb cannot be paired, against evidence with no negation at all -> `negation`.
4. a claim that states a cause ("because", "due to", "led to") needs evidence stating one  else `not_found`
5. the similarity prior (the verifier's lexical + embedding score) is at least `min_prior` else `not_found`.
6. the evidence has enough of the claim's content words (`coverage`): `min_coverage` when the claim's verbs
   are not matched (a paraphrase must still use the quote's words), `min_coverage_matched` when they are
                                                                               else `not_found`

The evidence's descriptions stand for the names its passage gives them ("Publix is a private corporation that
is wholly owned by ..."; `described`); a heading the evidence sits under lends its names (`context`). An
evidence verb with no argument at all ("employee-owned") contradicts nothing and supports nothing.
`clauses()` cuts a claim into the clauses it stitches together, for `Grounder.verify` to check one by one.

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
from typing import Callable, Sequence

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
                      "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
                      "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_CARDINAL_WORDS = frozenset(w for w in _NUMBER_WORDS if w not in ("first", "second", "third", "fourth", "fifth", "sixth",
                                                                   "seventh", "eighth", "ninth", "tenth"))
# Closed-class words and verbs that state a cause (spaCy has no label for causal links).
NEGATIONS = frozenset("not never no without nobody nothing none neither nor".split())
CAUSAL_WORDS = frozenset("because due owing therefore thus hence consequently why insistence behest".split())  # "at the
# insistence of X" says why as plainly as "because X insisted"
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
    bare_verbs_support: bool = False  # whether an evidence verb with no argument at all supports a claim with some
    other_description: bool = True  # a named claim subject, the evidence's verb with the same object and a subject
    # that is a description (not a name, not a pronoun) that does not match: someone else does it
    descriptions: bool = True  # "<name> is <a noun phrase>" in the evidence: the noun phrase stands for the name too
    min_coverage: float = 0.6  # a claim whose verbs the quote lacks needs this share of its content words in it ...
    # ... and one whose verbs match, this share. 0 = off: 0.65 bought 2 catches on claims tune but only false flags
    # (+3, no catch) on claims test, and a rule stays only if it pays on test.
    min_coverage_matched: float = 0.0
    coverage_prefix: int = 8  # a content word also counts as covered by a word sharing its first this many letters
    # ("instantiated" / "instantiation"); 0: off (tune, with list_intro_names: 6 and 7 -1 catch, 8 -1 false flag)
    list_intro_names: bool = True  # a list item's intro without a colon lends its names (as a heading does)
    coverage_pos: frozenset = frozenset({"NOUN", "VERB", "ADJ", "ADV", "PROPN", "NUM"})
    clause_min_words: int = 3  # a relative/participial clause or conjoined predicate this long is verified on its own
    clause_depth: int = 2  # ... and its own clauses again, this many levels down
    clauses_always: bool = True  # a supported claim with clauses is checked clause by clause too: each must be said by
    # its quote (relation check, coverage) or supported on its own (tune: +2 catches, +0 false flags)
    clause_verbs: bool = True  # ... and a relative clause whose verb its quote lacks ("..., which was marked by Trump's
    # remarks") is said by it only with that verb told; a clause the quote does not say must be told with its own verb
    # by another quote, not carried by its words alone (claims tune +2 catches, 0 false flags; test +3 catches, +1 false
    # flag. Requiring the quote's verb for every clause: test +5 catches but +11 false flags -- paraphrased clauses)
    relational_swaps: bool = True  # "X is the mother of Y" / "Y is the mother of X" (`_relation_swapped`)
    check_modifiers: bool = True  # arguments with one head told apart by their nouns (`Modifiers`) do not match
    firm_min_prior: float = 0.25  # a quote that tells every core triple of the claim as the claim does (`firm`) supports
    # it from this prior up, below the verifier's threshold: the prior's word counts (a pronoun for the name,
    # another clause's "not", "seventeen" for "17") cannot overrule a relation matched in full
    firm_coverage: float = 0.8  # ... when the quote also has this share of the claim's content words (`coverage`)
    clause_reasons: frozenset = frozenset({"entity_mismatch", "not_found"})  # a claim unsupported for one of these
    # (something missing, not contradicted) is split into its clauses (`clauses`) and each verified on its own


PARAMS = RelationParams()


@dataclass
class Facts:
    """What the relation check needs of a text (a claim, or one or two evidence sentences)."""

    triples: list[Triple] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    date_words: set[str] = field(default_factory=set)  # words of DATE/TIME entities that are not numbers
    entities: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    entity_lemmas: dict[str, str] = field(default_factory=dict)  # key -> its words' lemmas ("routes" -> "route")
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


def compose_numbers(words: Sequence[str]) -> list[str | None]:
    """`number` of each word, with a run of two or more spelled-out cardinals read as one number ("twenty two"
    -> 22, "one hundred five" -> 105, "three thousand" -> 3000): the run's first word gets the value, the others
    None. "twenty-two years" is the same fact as "22 years", not 20 and 2."""
    out: list[str | None] = [number(w) for w in words]
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and (words[j].lower() in _CARDINAL_WORDS or j > i and words[j] in ("-", "and")
                                  and j + 1 < len(words) and words[j + 1].lower() in _CARDINAL_WORDS):
            j += 1
        if j - i >= 2:
            total = current = 0
            for w in words[i:j]:
                w = w.lower()
                if w in ("-", "and"):
                    continue
                if w in _SCALES:
                    current = max(current, 1) * _SCALES[w]
                    if _SCALES[w] > 100:
                        total, current = total + current, 0
                else:
                    current += int(_NUMBER_WORDS[w])
            out[i : j] = [str(total + current)] + [None] * (j - i - 1)
        i = max(j, i + 1)
    return out


def repaired(ann: Annotation, readings: bool = False) -> list[Triple]:
    """The annotation's triples with two slips of the small parser undone, read off its own tokens (so stored
    annotations need no re-parse):
    - a named entity that runs over its own predicate ("Harold defeated William" tagged as one PERSON): each
      argument keeps only its own words as its name (else "Harold" and "William" would be one name);
    - a passive verb with a passive subject of its own and no "by" agent that was given the subject of the verb
      it hangs off ("Johnson became president after Lincoln was assassinated": nobody says Johnson did it) has
      no known doer.
    And negation is put where a contrast puts it (`_contrasts`: "not for X but rather to Y", "Y rather than X"),
    an argument in apposition ("Its founder, Scott McNealy, had led it") is known by both its names, a noun
    attached to an argument brings its compounds and adjectives ("several of its software lines"), and a verb under "without"
    is negated ("passed without being modified"). Remembered per annotation object (`_REPAIRED`)."""
    hit = _REPAIRED.get((id(ann), readings))
    if hit is not None and hit[0] is ann:
        return list(hit[1])
    out = _repair(ann, readings)
    if len(_REPAIRED) >= 4096:
        _REPAIRED.clear()
    _REPAIRED[(id(ann), readings)] = (ann, tuple(out))
    return out


_REPAIRED: dict[tuple[int, bool], tuple[Annotation, tuple[Triple, ...]]] = {}


def _tree(ann: Annotation) -> tuple[dict[int, list[int]], Callable[[int], set[int]]]:
    """The parse as a tree: each token's children, and a function giving the token indices below one (itself too)."""
    kids: dict[int, list[int]] = {}
    for j, t in enumerate(ann.tokens):
        if 0 <= t.head < len(ann.tokens) and t.head != j:
            kids.setdefault(t.head, []).append(j)

    def below(i: int) -> set[int]:
        out, todo = set(), [i]
        while todo:
            j = todo.pop()
            if j not in out:
                out.add(j)
                todo += kids.get(j, [])
        return out

    return kids, below


def _contrasts(ann: Annotation) -> tuple[set[int], set[int], set[int]]:
    """Negation that falls on an adjunct, not on the verb (token indices): "was not passed for the purpose of
    raising revenue, but rather to regulate trade" -- the passing is told, the purpose denied; and "to regulate
    trade rather than to raise revenue" -- the second verb denied. Returns (verbs whose "not" may fall off them,
    their prepositions it may fall on, verbs inside those, verbs denied by "rather than"). The first is
    ambiguous ("not passed for the purpose of raising revenue" also says it without the "but"), so evidence
    gets both readings (`repaired(readings=True)`)."""
    toks = ann.tokens
    kids, below = _tree(ann)

    freed, preps, denied, rather = set(), set(), set(), set()
    for v, ks in kids.items():
        deps = {toks[k].dep: k for k in ks}
        but = next((k for k in ks if toks[k].dep == "cc" and toks[k].lemma == "but"), None)
        conj = next((k for k in ks if toks[k].dep == "conj" and k > (but or 0)), None)
        if "neg" in deps and but is not None and conj is not None and not any(
                toks[k].dep in ("nsubj", "nsubjpass") for k in kids.get(conj, [])):
            freed.add(v)
            for k in ks:
                if toks[k].dep == "prep" and k < but:
                    preps.add(k)
                    denied |= below(k)
        than = next((k for k in ks if toks[k].dep == "cc" and toks[k].lemma == "than"
                     and any(toks[g].lemma == "rather" for g in kids.get(k, []))), None)
        if than is not None:
            rather |= {k for k in ks if toks[k].dep == "conj" and k > than}
    return freed, preps, denied, rather


def _repair(ann: Annotation, readings: bool) -> list[Triple]:
    toks = ann.tokens
    freed, denied_preps, denied, rather = _contrasts(ann)
    appos: dict[str, set[str]] = {}  # head lemma -> words of the noun phrases in apposition to it
    for j, t in enumerate(toks):
        if t.dep == "appos" and 0 <= t.head < len(toks) and t.head != j:
            for a, b in ((t.head, j), (j, t.head)):
                words = {key(x) for x in _phrase_words(ann, b)}
                appos.setdefault(toks[a].lemma, set()).update(words)
    compounds: dict[str, list[str]] = {}  # noun lemma -> its compound nouns and adjectives ("software" for "lines")
    for t in toks:
        if (t.dep == "compound" and t.pos in ("NOUN", "PROPN") or t.dep == "amod" and t.pos == "ADJ") \
                and 0 <= t.head < len(toks):
            compounds.setdefault(toks[t.head].lemma, []).append(t.lemma)
    out = []
    for tr in ann.triples:
        if not 0 <= tr.at < len(toks):
            out.append(tr)
            continue
        verb = ann.text[toks[tr.at].start : toks[tr.at].end].lower()

        def own(a: Arg | None) -> Arg | None:
            if a is not None and not a.pronoun and a.head in appos:
                a = replace(a, lemmas=tuple(dict.fromkeys(a.lemmas + tuple(sorted(appos[a.head])))))
            if a is not None and a.attached and not a.pronoun:  # "several of its software lines": software too
                more = tuple(x for n in a.attached for x in compounds.get(n, ()))
                if more:
                    a = replace(a, attached=tuple(dict.fromkeys(a.attached + more)))
            if a is None or not a.ent_text or a.pronoun or f" {verb} " not in f" {a.ent_text} ":
                return a
            return replace(a, ent_text=key(a.text))

        subj, obj, preps = own(tr.subj), own(tr.obj), tuple((p, own(a)) for p, a in tr.preps)
        kids = [t.dep for t in toks if t.head == tr.at]
        head = toks[toks[tr.at].head] if 0 <= toks[tr.at].head < len(toks) else None
        if not tr.neg and toks[tr.at].dep == "pcomp" and head is not None and head.lemma == "without":
            tr = replace(tr, neg=True)  # "passed without being modified": not modified
        if tr.passive and subj is not None and "nsubjpass" in kids and "agent" not in kids and "nsubj" not in kids:
            subj = None
        if tr.at in rather:
            tr = replace(tr, neg=not tr.neg)  # "to regulate trade rather than to raise revenue": not raise
        if readings and tr.at in freed:  # "not passed for X but rather to Y": also read as passed, not for X
            gone = {toks[k].lemma for k in denied_preps if toks[k].head == tr.at}
            out.append(replace(tr, neg=False, subj=subj, obj=obj,
                               preps=tuple((f"not {q}" if q in gone else q, a) for q, a in preps)))
        elif readings and tr.at in denied:  # ... and X (raising revenue) as denied
            out.append(replace(tr, neg=not tr.neg, subj=subj, obj=obj, preps=preps))
        out.append(replace(tr, subj=subj, obj=obj, preps=preps))
    return out


def _phrase_words(ann: Annotation, i: int) -> list[str]:
    """Lemmas of the content words of the noun phrase headed by token i (its noun chunk; its entity's words)
    and the text of an entity it heads."""
    t = ann.tokens[i]
    span = next(((s, e) for s, e in ann.chunks if s <= t.start and t.end <= e), (t.start, t.end))
    for s, e, _ in ann.ents:
        if s <= t.start and t.end <= e:
            span = (min(span[0], s), max(span[1], e))
    words = [x.lemma for x in ann.tokens if span[0] <= x.start and x.end <= span[1]
             and x.pos in ("NOUN", "PROPN", "NUM", "ADJ")]
    names = [ann.text[s:e] for s, e, _ in ann.ents if s <= t.start and t.end <= e]
    return words + names


def facts(ann: Annotation, params: RelationParams = PARAMS) -> Facts:
    f = Facts(triples=repaired(ann))
    in_ent: dict[int, str] = {}
    for s, e, label in ann.ents:
        text = ann.text[s:e]
        if label in params.entity_labels:
            f.entities.append((key(text), label))
            f.entity_lemmas[key(text)] = " ".join(t.lemma for t in ann.tokens if t.start >= s and t.end <= e
                                                  and t.pos != "DET")
            f.keys.add(key(text))
            f.keys.add(key(text).replace(" ", ""))  # "South East London" ~ "Southeast London"
        for i, t in enumerate(ann.tokens):
            if t.start >= s and t.end <= e:
                in_ent[i] = label
    spelled = compose_numbers([t.lemma for t in ann.tokens])
    for i, t in enumerate(ann.tokens):
        word = ann.text[t.start : t.end]
        f.keys.add(key(word))
        f.keys.add(key(t.lemma))
        n = spelled[i] if (t.pos == "NUM" or in_ent.get(i) in ("ORDINAL", "CARDINAL")) else None
        if _DIGITS.search(word):  # every number in the token ("max_files=1000", "10-2")
            for m in _NUMBER.finditer(word):
                f.numbers.add(number(m.group()) or m.group())
                f.keys.add(number(m.group()) or m.group())
        elif n is not None:
            f.numbers.add(n)
            f.keys.add(n)
        elif number(t.lemma) is not None and t.lemma in _CARDINAL_WORDS:
            continue  # a later word of a spelled-out number ("two" in "twenty-two"): counted with its first
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
    if claim.ent in PARAMS.number_labels and ev.ent in PARAMS.number_labels:  # "11 (of the workers)" / "eleven (of them)"
        values = {n for n in compose_numbers(claim.lemmas) if n}
        if values and values == {n for n in compose_numbers(ev.lemmas) if n}:
            return True
    if claim.ent_text and ev.ent_text and claim.ent not in ("PROPN",) and ev.ent not in ("PROPN",):
        # two names: the same name, or one inside the other ("Macron" / "Emmanuel Macron", "the UN" / "the UN
        # General Assembly"), never two names sharing a word ("European Union" / "European Trade Union ...")
        for a, b in ((key(claim.ent_text), key(ev.ent_text)), (claim.ent_text.lower(), ev.ent_text.lower())):
            if a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} ":
                return True
        if {key(h) for h in claim.heads} & {key(h) for h in ev.heads} and _compatible_names(claim, ev):
            return True
        return attached and bool(_head_keys(claim) & {key(x) for x in ev.attached})
    if _head_keys(claim) & _arg_keys(ev) or _head_keys(ev) & _arg_keys(claim):
        return True
    return attached and bool(_head_keys(claim) & {key(x) for x in ev.attached})


def _compatible_names(a: Arg, b: Arg) -> bool:
    """Two names with the same head word may be one (the words of one among the other's: "Coppola" / "Sofia
    Coppola"), unless each has a word the other lacks ("Francis Ford Coppola" / "Sofia Coppola": two people of
    one family)."""
    if a.ent not in PARAMS.entity_labels or b.ent not in PARAMS.entity_labels:
        return True  # dates and amounts: `numbers_agree` compares them
    wa, wb = set(key(a.ent_text).split()), set(key(b.ent_text).split())
    return wa <= wb or wb <= wa


def numbers_agree(claim: Arg | None, ev: Arg | None) -> bool:
    """The numbers inside a matched argument agree ("five frigates" is not "four frigates")."""
    if claim is None or ev is None:
        return True
    want = {n for n in compose_numbers(claim.lemmas) if n}
    return not want or want <= {n for n in compose_numbers(ev.lemmas) if n}


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


# Stance: "voted for / in favour of X" and "voted against X" say opposite things with the same verb. A closed
# class of English prepositions (no parser labels it), read only when both sides give a stance.
STANCE_PREPOSITIONS = {"for": 1, "against": -1}
STANCE_NOUNS = {"favour": 1, "favor": 1, "support": 1, "opposition": -1}  # "in favour (of)", "in opposition (to)"


def _stance(t: Triple) -> int:
    for p, a in t.preps:
        if p in STANCE_PREPOSITIONS:
            return STANCE_PREPOSITIONS[p]
        if p == "in" and a is not None and a.heads and a.heads[0] in STANCE_NOUNS:
            return STANCE_NOUNS[a.heads[0]]
    return 0


def _adjunct_conflict(c: Triple, e: Triple, params: RelationParams) -> str | None:
    """A time or place of the claim's verb that the evidence's verb gives otherwise, with the same preposition
    and the same kind of entity ("released on 18 February 2002" / "released on 17 September 2001"; "in the
    United Kingdom" / "in the United States": places only when `adjunct_labels` has them -- a place may hold
    another, "in Brooklyn" / "in New York"). Times and places the evidence leaves out are checked only as
    numbers and entities."""
    if _stance(c) * _stance(e) < 0:  # "voted in favour" / "voting against it"
        return "object_mismatch"
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


class Modifiers:
    """Tells apart two arguments that share a head noun by the words that modify them: "software lines" /
    "hardware lines", "the Tekezé River" / "the Atbarah River", "the prize in chemistry" / "the prize in physics",
    "an economic agreement" / "a military agreement" are other things. `differ(claim_arg, evidence_arg)`:
    - nouns (compound, noun of its phrase, noun attached by a preposition; not numbers, which `numbers_agree`
      checks): each has one the other lacks, and the evidence's is nowhere in the claim (also requiring the
      claim's to be nowhere in the evidence: claims tune -1 catch, +0 false flags);
    - adjectives: the same, and the claim's is in none of the arguments of the evidence's verb either (an
      adjective moves about in a paraphrase; "current" / "present" employees still differ).
    Pronoun-resolved arguments are left alone."""

    def __init__(self, nouns: set[str], adjectives: set[str], claim_keys: set[str]):
        self.nouns, self.adjectives, self.claim_keys = nouns, adjectives, claim_keys

    @classmethod
    def of(cls, claim: Annotation, evidence: Sequence[Annotation], cf: Facts) -> "Modifiers":
        toks = [t for a in [claim, *evidence] for t in a.tokens]
        nouns = {t.lemma for t in toks if t.pos in ("NOUN", "PROPN")}
        adjectives = {t.lemma for t in toks if t.pos == "ADJ" and t.dep == "amod"} - nouns
        return cls(nouns, adjectives, cf.keys)

    def _of(self, a: Arg, words: set[str]) -> set[str]:
        heads = {key(h) for h in a.heads}
        return {key(x) for x in (*a.lemmas, *a.attached) if x in words and number(x) is None} - heads

    def differ(self, a: Arg | None, b: Arg | None, e: Triple | None = None) -> bool:
        """`e`: the evidence triple `b` is an argument of."""
        if a is None or b is None or a.pronoun or b.pronoun:
            return False
        ma, mb = self._of(a, self.nouns), self._of(b, self.nouns)
        if ma - mb and {m for m in mb - ma if m not in self.claim_keys}:
            return True
        ma, mb = self._of(a, self.adjectives), self._of(b, self.adjectives)
        told = set().union(*(_arg_keys(x) | {key(w) for w in x.attached} for x in _all_args(e))) if e else set()
        return bool({m for m in ma - mb if m not in told}) and bool({m for m in mb - ma if m not in self.claim_keys})


def _relation_swapped(c: Triple, e: Triple) -> bool:
    """The same relation with its two ends the other way round, one end inside the object's phrase: "Edward was the
    mother of Victoria" / "Victoria was the mother of Edward", "each endpoint maps a path to a route" / "each
    route maps a path to an endpoint". The objects share their head; the claim's subject is what the evidence's
    object is of (attached by a preposition), and the evidence's subject what the claim's is of."""
    if c.subj is None or e.subj is None or c.obj is None or e.obj is None or vague(c.subj) or vague(e.subj):
        return False
    if not _head_keys(c.obj) & _head_keys(e.obj) or args_match(c.subj, e.subj):
        return False
    return bool(_head_keys(c.subj) & {key(x) for x in e.obj.attached}) and bool(
        _head_keys(e.subj) & {key(x) for x in c.obj.attached})


def match_triple(c: Triple, evidence: Sequence[Triple], params: RelationParams = PARAMS,
                 modifiers: Modifiers | None = None) -> str:
    """"supported", a mismatch reason, or "unknown" when the evidence has no triple with the claim's verb.
    With `modifiers`, matched arguments told apart by their modifying nouns (`Modifiers`) do not match."""
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
            denied = [b for q, b in e.preps if q.startswith("not ")]  # `_contrasts`: "not for X but rather ..."
            if denied and any(args_match(a, b, attached=True) for a in core for b in denied):
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
            if modifiers is not None and params.check_modifiers:
                if not vague(c.subj) and args_match(c.subj, e.subj) and modifiers.differ(c.subj, e.subj, e):
                    found.append("other_subject")  # "the Tekezé River" rises / "the Atbarah River" rises
                    continue
                told = [[b for b in ev_args if args_match(a, b, attached=True)] for a in core]
                if any(bs and all(modifiers.differ(a, b, e) for b in bs) for a, bs in zip(core, told)):
                    found.append("object_mismatch")  # "its software lines" / "its hardware lines"
                    continue
            if params.bare_verbs_support or e.subj is not None or _ev_args(e) or (vague(c.subj) and not core):
                return "supported"
            continue  # a bare verb ("employee-owned") contradicts nothing, and says nothing about who owns what
        if not params.check_roles:
            continue
        if c.verb in params.light_verbs:
            if params.relational_swaps and _relation_swapped(c, e):
                found.append("role_mismatch")  # "X was the mother of Y" / "Y was the mother of X"
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
        swapped = any(args_match(c.subj, b) for b in ev_args) or any(args_match(a, e.subj) for a in core) \
            or params.relational_swaps and _relation_swapped(c, e)
        if swapped:
            found.append("role_mismatch")
        elif params.other_subject and c.subj.ent and c.subj.ent not in params.number_labels and (
                e.subj.ent or params.other_description and core and not vague(e.subj)
                and all(any(args_match(a, b) for b in ev_args) for a in core)):
            # two names: someone else does it (descriptions may be one, unless the evidence gives the claim's object
            # and a description that is not the claim's subject: "wholly owned by present and past employees")
            found.append("other_subject")
    for reason in ("negation", "number_mismatch", "object_mismatch", "role_mismatch", "other_subject"):
        if reason in found:
            return reason
    return "unknown"


def core_triples(ann_or_facts, params: RelationParams = PARAMS) -> list[Triple]:
    """The claim triples that carry its meaning: not a bare light verb ("is", "has") without arguments."""
    triples = repaired(ann_or_facts) if isinstance(ann_or_facts, Annotation) else ann_or_facts.triples
    return [t for t in triples if t.verb not in params.light_verbs or t.obj is not None or t.preps]


def check(claim: Annotation, evidence: Sequence[Annotation], prior: float | None = None,
          params: RelationParams = PARAMS, context: Sequence[Annotation] = (),
          passage: Sequence[Triple] = ()) -> tuple[bool, str]:
    """Whether the evidence (one sentence, or two adjacent ones) supports the claim, and why (not). `context`:
    what the evidence is read under (its section's heading), which lends its names and numbers only; `passage`:
    the triples of its passage, whose "<name> is <a noun phrase>" tell what the evidence's descriptions stand for
    ("Hello Love is a 1974 single. ... The single stayed at number one")."""
    if params.verbatim and verbatim(claim.text, " ".join(a.text for a in evidence)):
        return True, "supported"  # quoted word for word: two parses of the same words may differ, the words do not
    cf = facts(claim, params)
    ef = Facts()
    for ann in evidence:
        x = facts(ann, params)
        ef.triples += repaired(ann, readings=True)
        ef.numbers |= x.numbers
        ef.date_words |= x.date_words
        ef.entities += x.entities
        ef.keys |= x.keys
        ef.causal = ef.causal or x.causal
        ef.negated = ef.negated or x.negated
    for ann in context:  # a heading names what the sentences under it are about
        x = facts(ann, params)
        ef.numbers |= x.numbers
        ef.keys |= {k for k, _ in x.entities} | {k.replace(" ", "") for k, _ in x.entities} | x.numbers
        ef.keys |= {key(ann.text[t.start:t.end]) for t in ann.tokens if t.pos == "PROPN"}
    if params.check_numbers and (cf.numbers - ef.numbers or {w for w in cf.date_words if key(w) not in ef.keys}):
        return False, "number_mismatch"
    if params.descriptions:  # "the song" names what its passage says it is ("Blue Moon is a 1961 song")
        nouns = {key(t.lemma) for a in evidence for t in a.tokens if t.pos == "NOUN"}
        for k, name in descriptions([*ef.triples, *passage]).items():
            if k in nouns:
                ef.keys |= _arg_keys(name)
    raw = " " + _NON_WORD.sub(" ", " ".join(a.text for a in [*evidence, *context]).lower()) + " "
    if params.check_entities and any(k not in ef.keys and k.replace(" ", "") not in ef.keys and not _words_in(k, ef.keys)
                                     and f" {_NON_WORD.sub(' ', k).strip()} " not in raw
                                     and not _lemmas_in(cf.entity_lemmas.get(k, ""), ef.keys)
                                     for k, _ in cf.entities):
        return False, "entity_mismatch"
    if params.descriptions:
        ef.triples = described(ef.triples, passage)
    core = core_triples(cf, params)
    modifiers = Modifiers.of(claim, evidence, cf)
    statuses = [match_triple(t, ef.triples, params, modifiers) for t in core]
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
    matched = "supported" in statuses
    if coverage(claim, ef, params) < (params.min_coverage_matched if matched else params.min_coverage):
        return False, "not_found"  # words of its own the quote does not have: what they say is invented
    return True, "supported"


def firm(claim: Annotation, evidence: Sequence[Annotation], params: RelationParams = PARAMS,
         passage: Sequence[Triple] = ()) -> bool:
    """Whether the evidence tells every core triple of the claim as the claim tells it -- the same verb, the
    claim's named doer (or patient) and every argument, the same polarity and numbers -- and has `firm_coverage`
    of the claim's content words. Such a match is what the prior only estimates (`Grounder._relation_check`
    accepts it from `firm_min_prior` up); `check` must also pass (numbers, names, causes)."""
    core = core_triples(claim, params)
    if not core:
        return False
    cf, ef = facts(claim, params), Facts()
    for ann in evidence:
        x = facts(ann, params)
        ef.triples += repaired(ann, readings=True)
        ef.keys |= x.keys
    if params.descriptions:
        ef.triples = described(ef.triples, passage)
    modifiers = Modifiers.of(claim, evidence, cf)
    toks = claim.tokens
    root = [c for c in core if 0 <= c.at < len(toks) and toks[c.at].dep == "ROOT"]
    said = [c for c in core if 0 <= c.at < len(toks) and toks[c.at].dep == "ccomp" and any(
        r.at == toks[c.at].head and r.verb in SPEECH for r in root)]  # "Trump noted that Putin would ...": what he said
    main = root + said or core
    for c in core:  # the main clause told with its doer given (not left out by the evidence's parse); the others
        # told, or at least not told otherwise (a verb the quote words as a noun: "isolating" / "the isolation")
        told = any(match_triple(c, [e], params, modifiers) == "supported"
                   and (vague(c.subj) or e.subj is not None and args_match(c.subj, e.subj)) for e in ef.triples)
        if not told and (c in main or match_triple(c, ef.triples, params, modifiers) != "unknown"):
            return False
    if not any((not vague(t.subj) or t.obj is not None and not vague(t.obj)) and (_core_args(t, params) or t.subj)
               for t in core):
        return False  # nothing named was matched: "It is used to handle the request"
    names = {key(t.lemma) for t in claim.tokens if t.pos == "PROPN"}
    if any(n not in ef.keys for n in names):
        return False  # a name of the claim's that the quote lacks ("the Tekezé River")
    if any(unread_negation(a) for a in [claim, *evidence]):
        return False  # a "not" no triple carries ("readable but not modifiable"): the parse cannot vouch for it
    return coverage(claim, ef, params) >= params.firm_coverage


def unread_negation(ann: Annotation) -> bool:
    """A negation the triples do not carry: a "not"/"never" whose head is neither a predicate nor the complement
    of one ("readable but not modifiable": the "not" hangs off the second adjective)."""
    toks = ann.tokens
    verbs = {t.at for t in ann.triples}
    for t in toks:
        if t.dep != "neg" or not 0 <= t.head < len(toks):
            continue
        h = toks[t.head]
        if t.head in verbs or h.dep in ("acomp", "attr", "xcomp") and h.head in verbs:
            continue
        return True
    return False


def coverage(claim: Annotation, ef: Facts, params: RelationParams = PARAMS) -> float:
    """Share of the claim's content words (nouns, verbs, adjectives, adverbs, names, numbers; not light verbs
    nor verbs of saying) that the evidence has (by lemma, word, alias or number; a word of a named entity also
    by the whole name: "United States" for "the US"): 1.0 for none."""
    named = [(s, e, key(claim.text[s:e])) for s, e, label in claim.ents if label in params.entity_labels]
    have = ef.keys
    hits = []
    for t in claim.tokens:
        if t.pos not in params.coverage_pos or len(t.lemma) <= 1 or t.lemma in params.light_verbs or t.lemma in SPEECH:
            continue
        whole = any(s <= t.start and t.end <= e and k in have for s, e, k in named)
        n = params.coverage_prefix
        hits.append(whole or key(t.lemma) in have or number(t.lemma) in have
                    or bool(n) and len(t.lemma) >= n and any(h[:n] == t.lemma[:n] for h in have))
    return sum(hits) / len(hits) if hits else 1.0


def descriptions(triples: Sequence[Triple]) -> dict[str, Arg]:
    """Head of a description -> the name it describes, from "<name> is <a noun phrase>" (never negated; a
    measure such as "over 10,000 m" is not a description, "a 1961 song" is)."""
    names: dict[str, Arg] = {}
    for t in triples:
        if t.verb == "be" and not t.neg and t.subj is not None and t.obj is not None:
            for name, desc in ((t.subj, t.obj), (t.obj, t.subj)):
                if name.ent and not desc.ent and not desc.pronoun and desc.head and not any(
                        _measure(x) for x in desc.lemmas):
                    names.setdefault(key(desc.head), name)
    return names


def _measure(word: str) -> bool:
    """A number that measures (not a year: "a 1961 song" is a song)."""
    n = number(word)
    return n is not None and not (len(n) == 4 and n.isdigit() and 1000 <= int(n) <= 2100)


def described(triples: Sequence[Triple], more: Sequence[Triple] = ()) -> list[Triple]:
    """The evidence's triples with each description of a name standing for the name too: where the evidence says
    "<name> is <a noun phrase>" ("Publix is a private corporation that is wholly owned by ...", "the Station is an
    entity operated by Rutgers"), that noun phrase elsewhere in it ("a private corporation" as what is owned) is
    also the name. Only a name and a description (one side an entity, the other a common noun), never negated.
    `more`: other triples of the passage that may say so."""
    names = descriptions([*triples, *more])
    if not names:
        return list(triples)

    def widen(a: Arg | None, t: Triple) -> Arg | None:
        name = names.get(key(a.head)) if a is not None and not a.ent and a.head else None
        if name is None or t.verb == "be":
            return a
        extra = tuple(dict.fromkeys(a.lemmas + name.heads + name.lemmas + ((name.ent_text,) if name.ent_text else ())))
        return replace(a, lemmas=extra)

    return [replace(t, subj=widen(t.subj, t), obj=widen(t.obj, t), preps=tuple((p, widen(x, t)) for p, x in t.preps))
            for t in triples]


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
    said = [repaired(sent, readings=True) for sent in sentences]
    for t in triples:  # a triple told as the claim tells it somewhere is fine; one told only otherwise is not
        if any(match_triple(t, ts, told) == "supported" for ts in said):
            continue
        found += [match_triple(t, ts, loose) for ts in said]
    return next((r for r in ("negation", "number_mismatch", "role_mismatch", "object_mismatch") if r in found), None)


_NON_WORD = re.compile(r"[\W_]+")


def verbatim(claim: str, evidence: str) -> bool:
    """The claim's words, in order, are a stretch of the evidence's (case, spacing and punctuation aside)."""
    c = _NON_WORD.sub(" ", claim.lower()).strip()
    return bool(c) and f" {c} " in f" {_NON_WORD.sub(' ', evidence.lower()).strip()} "


def _lemmas_in(lemmas: str, keys: set[str]) -> bool:
    """A name whose words, by lemma, are all in the evidence ("Routes", tagged as a place by the small model, for
    "A route")."""
    parts = lemmas.split()
    return bool(parts) and all(key(p) in keys for p in parts)


def _words_in(k: str, keys: set[str]) -> bool:
    """A several-word name whose words are all in the evidence ("emmanuel macron" when both words occur)."""
    parts = k.split()
    return len(parts) > 1 and all(key(p) in keys for p in parts)


# --- clauses of a stitched claim ----------------------------------------------------------------------------
_CLAUSE_DEPS = frozenset({"relcl", "appos", "acl", "advcl", "conj"})


def relative_verbs(ann: Annotation, params: RelationParams = PARAMS) -> set[str]:
    """The lemmas of the verbs of the text's relative clauses that say something ("Bergen, which was founded by
    sailors": {"found"}), light verbs left out ("which is a city")."""
    return {t.lemma.lower() for t in ann.tokens if t.dep == "relcl" and t.pos == "VERB" and t.lemma not in params.light_verbs}


def clauses(claim: Annotation, params: RelationParams = PARAMS) -> list[str]:
    """The claim cut into the clauses it stitches together, each a text to verify on its own ("Akinoshū Kenji is
    from Hiroshima, the city the bomb targeted" -> "Akinoshū Kenji is from Hiroshima" + "Hiroshima is the city
    the bomb targeted"): the main clause without its appositions, relative and participial clauses and
    conjoined predicates; an apposition as "<the noun it describes> is <apposition>"; a relative or
    participial clause with the noun phrase it describes in front; a conjoined predicate with the subject it
    shares. [] when there is nothing to split (one clause). Pure logic over the parse (dependency labels)."""
    toks = claim.tokens
    n = len(toks)
    kids, subtree = _tree(claim)

    def text(ids: set[int]) -> str:
        ids = sorted(i for i in ids if toks[i].pos != "PUNCT" or toks[i].lemma in ("%", "'", "’"))
        if not ids:
            return ""
        pieces, s, prev = [], ids[0], ids[0]
        for i in ids[1:] + [None]:
            if i is not None and i == prev + 1:
                prev = i
                continue
            pieces.append(claim.text[toks[s].start : toks[prev].end])
            if i is not None:
                s = prev = i
        return " ".join(pieces).strip()

    def phrase(i: int) -> set[int]:
        """The noun phrase headed by token i without its clauses (its noun chunk, else itself)."""
        for s, e in claim.chunks:
            if s <= toks[i].start and toks[i].end <= e:
                return {j for j, t in enumerate(toks) if t.start >= s and t.end <= e}
        return {i}

    def subject(v: int) -> set[int]:
        return next((subtree(c) for c in kids.get(v, []) if toks[c].dep in ("nsubj", "nsubjpass")), set())

    def splittable(i: int) -> bool:
        t = toks[i]
        if t.dep not in _CLAUSE_DEPS or not (0 <= t.head < n):
            return False
        head = toks[t.head]
        if t.dep == "appos":
            return head.pos in ("PROPN", "NOUN") and t.pos in ("NOUN", "PROPN")
        if t.dep == "conj":  # two predicates ("... and has been reneging"), not two nouns
            return t.pos in ("VERB", "AUX") and head.pos in ("VERB", "AUX") and len(subtree(i)) >= params.clause_min_words
        if t.dep == "advcl":
            return t.tag == "VBG" and len(subtree(i)) >= params.clause_min_words  # "..., marking the death of ..."
        return t.pos in ("VERB", "AUX") and len(subtree(i)) >= params.clause_min_words

    splits = [i for i in range(n) if splittable(i)]
    inner = set().union(*(subtree(i) - {i} for i in splits)) if splits else set()
    splits = [i for i in splits if i not in inner]  # the outermost ones; the verifier splits a piece again
    if not splits:
        return []
    cut: set[int] = set()
    for i in splits:
        cut |= subtree(i)
        if toks[i].dep == "conj":  # ... and the "and" before it
            cut |= {c for c in kids.get(toks[i].head, []) if toks[c].dep in ("cc", "preconj") and c < i}
    out = [text(set(range(n)) - cut)]
    for i in splits:
        t, body = toks[i], subtree(i)
        if t.dep == "appos":
            piece = f"{text(phrase(t.head) - body)} is {text(body)}"
        elif t.dep == "conj":
            piece = text(subject(t.head) | body) if not subject(i) else text(body)
        elif t.dep in ("relcl", "acl"):
            piece = text((phrase(t.head) - body) | body)
        else:
            piece = text(body)
        out.append(piece)
    whole = _NON_WORD.sub(" ", claim.text.lower()).strip()
    out = [c for c in dict.fromkeys(out) if len(c.split()) >= 2 and _NON_WORD.sub(" ", c.lower()).strip() != whole]
    return out if len(out) >= 2 else []
