"""Multi-hop retrieval: when no retrieved passage covers the question, retrieve again through a bridge entity.

"Who directed the film that was shot in Leland in 1986?": the first retrieval finds "Cujo was filmed in
Leland ..." but no passage names the director. The question has an embedded description ("the film that
was shot in ..."), and the best passage leaves part of the question uncovered, so the names in the
passages best matching the question that the question does not mention ("Cujo") become bridges: the
question is asked again with each bridge added, and the new passages join the evidence. At most
`max_hops` extra hops (a bridge found in a hop's passages may lead one hop further), within `budget_ms`.

Each hop is reported (`Hop`: the query, the bridge, the passages it added), and the extractive answer
cites one quote per hop.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from index.linguistics import Annotation, Annotator, default_annotator
from qa.answers import Passage, append_new
from qa.terms import fold

# entity labels that can stand for a described thing, most likely first (demonyms and languages rarely do)
BRIDGE_LABELS = ("PERSON", "ORG", "WORK_OF_ART", "GPE", "LOC", "FAC", "EVENT", "PRODUCT", "LAW")
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})  # where entity recognition is surest of a description's kind
EMBEDDED = frozenset({"relcl", "acl", "poss", "pcomp"})  # dependencies that nest a description in a question
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})


@dataclass(frozen=True)
class HopParams:
    max_hops: int = 2  # extra retrievals after the first, at most
    bridges_per_hop: int = 2  # bridge entities tried per hop
    passages_per_hop: int = 3  # passages each bridged query adds
    final_sentences: int = 2  # sentences quoted for the resolved question (the second only when nearly as good)
    covered: float = 0.85  # a passage holding this share of the question's content lemmas needs no hop
    named_share: float = 0.5  # a bridge comes from a passage saying this share of the description's proper nouns
    described: float = 0.5  # ... and from a sentence (and its passage title) holding this share of its content words
    budget_ms: float = 600.0  # no new hop starts after this much time
    names_only: bool = True  # a bridge is a name: never code (`_code_like`) nor a word without a capital
    outward_margin: float = 0.1  # a bridge steps out along "City, Country" when the next place is this much more like
    # the described kind by the embedding (`_outward`)
    kind_similarity: float = 0.3  # a description's noun names a kind of place ("country", "city", "river") when its
    # embedding is this close to spaCy's gloss of a place label (GPE, LOC, FAC); "one", "text", "resolution" are not


PARAMS = HopParams()


@dataclass(frozen=True)
class Hop:
    query: str
    bridge: str = ""  # the entity that led to this hop ("" for the first retrieval)
    passages: tuple[int, ...] = ()  # the numbers (n) of the passages it added

    def to_dict(self) -> dict:
        return {"query": self.query, "bridge": self.bridge or None, "passages": list(self.passages)}


def _lemmas(ann: Annotation, start: int = 0, end: int | None = None) -> set[str]:
    end = len(ann.text) if end is None else end
    return {_key(t.lemma) for t in ann.tokens if t.pos in _CONTENT_POS and t.start >= start and t.end <= end
            and t.lemma.isalnum()}


def _key(word: str) -> str:
    """A word as compared: lower case, accents off ("Aschenbrodel" in a question names "Aschenbrödel")."""
    return fold(word.lower())


def _words(text: str) -> set[str]:
    return {_key(w).strip(".,'’\"()?") for w in text.split()} - {""}


def nested(q: Annotation) -> bool:
    """Whether the question describes something instead of naming it: a relative or participle clause ("the film
    that ...", "the city where ..."), a possessive ("Hello Love's performer"), or a common noun with a
    prepositional phrase ("the author of Brand")."""
    for i, t in enumerate(q.tokens):
        if t.dep in ("relcl", "acl") or (t.dep == "poss" and t.pos in ("PROPN", "NOUN")):
            return True
        if t.pos == "NOUN" and any(u.dep == "prep" and u.head == i for u in q.tokens):
            return True
    return bool(contact_clauses(q))


def contact_clauses(q: Annotation) -> list[tuple[int, int, str]]:
    """Descriptions by a relative clause without a relative word ("the country Signmark is from", "the city Kevin
    Durant played for before Golden State", "the state the Battle of Mine Creek was fought"), which the parser
    seldom reads as one: read from the tags instead. "the" + a common noun, then a name (proper nouns, with "of"
    or "the" inside), then the clause's own verb: an auxiliary ("is from", "was born"), or a past-tense verb when
    no auxiliary before the noun waits for it ("When was the film Cujo released?" is not one). The clause runs to
    the next comma or the end; where an earlier "do" still waits for its verb ("What year did the company X is
    part of dissolve?"), that last word is the question's own verb, not the clause's."""
    toks = q.tokens
    out = []
    for i, t in enumerate(toks[:-2]):
        if t.pos != "NOUN" or i == 0 or q.token_text(i - 1).lower() != "the":
            continue
        j = i + 1
        if q.token_text(j).lower() == "the":
            j += 1
        k = j
        while k < len(toks) and (toks[k].pos == "PROPN" or (k > j and toks[k].pos in ("ADP", "DET")
                                                              and k + 1 < len(toks) and toks[k + 1].pos == "PROPN")):
            k += 1
        if k == j or k >= len(toks) or toks[k - 1].pos != "PROPN":
            continue
        verb = toks[k]
        waiting = any(u.pos == "AUX" for u in toks[:i])
        if not (verb.pos == "AUX" or (verb.tag == "VBD" and not waiting)):
            continue
        end = k
        while end + 1 < len(toks) and toks[end + 1].pos != "PUNCT":
            end += 1
        if any(u.lemma == "do" and u.pos == "AUX" for u in toks[:i]) and end > k + 1 \
                and not any(u.pos == "VERB" for n, u in enumerate(toks) if n < i or n > end):
            end -= 1
        out.append((toks[i - 1].start, toks[end].end, t.lemma))
    return out


def _proper_nouns(ann: Annotation, s: int, e: int) -> list[str]:
    """Runs of proper nouns inside text[s:e], as written."""
    out, run = [], []
    for t in ann.tokens:
        if t.start >= s and t.end <= e and t.pos == "PROPN":
            run.append(t)
            continue
        if run:
            out.append(ann.text[run[0].start : run[-1].end])
            run = []
    if run:
        out.append(ann.text[run[0].start : run[-1].end])
    return out


def bridges(question: Annotation, passages: Sequence[tuple[Passage, Annotation]], n: int,
            labels: tuple[str, ...] = BRIDGE_LABELS, params: HopParams = PARAMS, kind: str = "",
            encode: Callable | None = None) -> list[str]:
    """Names the question does not mention, from the passage sentences sharing most of the question's words
    (best sentence first; within a sentence, entities by `labels` order, then other proper-noun runs, then the
    passage title). A sentence's words include its passage's title: a paragraph is about its title ("Hello
    Love (song)": "It was recorded by Hank Snow"). A name sharing a word with a name the question gives is that
    same thing ("Barry Wesson's team" -> not "Barry Jarvis Wesson"), never a bridge. Only passages that say at
    least `params.named_share` of the question's proper nouns count: a passage not naming the described thing
    ("RateLimitMiddleware") cannot tell what it is, nor a sentence (with its passage's title) holding less than
    `params.described` of the question's content words -- its head noun counting as said by an entity of `kind`,
    the place label that noun surely names ("country" -> GPE: "Buyende is a town in ... Uganda"). A title is a
    candidate only when it is a name (no verb). For a place `kind`, a sentence's places go by what their own words
    say of their kind (`_kind_rank`), then by how like "a <noun>" the embedding (`encode`) finds each name."""
    q_lemmas = _lemmas(question)
    head = next((t.lemma for t in question.tokens if t.dep == "ROOT" and t.pos == "NOUN"), "")  # "country"
    asked = _words(question.text) | q_lemmas
    named = set().union(*(_words(x) for x in _proper_nouns(question, 0, len(question.text)))) - q_stop(question)
    named_lemmas = {_key(t.lemma) for t in question.tokens if t.pos == "PROPN"}
    titles = [p.title or "" for p, _ in passages]
    t_anns = default_annotator().annotate_many(titles) if any(titles) else [None] * len(titles)
    scored = []
    for rank, ((p, ann), t_ann) in enumerate(zip(passages, t_anns)):
        title = (_lemmas(t_ann) | {_key(t.lemma) for t in t_ann.tokens}) if p.title and t_ann else set()
        about = len(named_lemmas & title)  # the passage is about the thing the question names
        said = title | _words(ann.text) | {_key(t.lemma) for t in ann.tokens}
        if named_lemmas and len(named_lemmas & said) < params.named_share * len(named_lemmas):
            continue  # a passage that does not name the described thing cannot resolve it
        is_name = bool(t_ann) and not any(t.pos in ("VERB", "AUX") for t in t_ann.tokens)
        for s, e in ann.sents:
            has = _lemmas(ann, s, e) | title
            overlap = len(q_lemmas & has)
            if kind and head not in has and any(label == kind and a >= s and b <= e for a, b, label in ann.ents):
                overlap += 1  # "the country where X is": a sentence naming a country (GPE) says what it describes
            if overlap and overlap >= params.described * len(q_lemmas):  # the sentence says what the question describes
                scored.append((overlap + about, -rank, -s, p, ann, s, e, is_name))
    scored.sort(key=lambda x: x[:3], reverse=True)
    out: list[str] = []
    for _, _, _, p, ann, s, e, is_name in scored:
        ents = [(labels.index(label), a, b) for a, b, label in ann.ents if label in labels and a >= s and b <= e]
        if kind and head:  # "the state where X is": "Maharashtra state" first, "Ratnagiri district" last
            ents = [x[1:] for x in sorted((_kind_rank(ann, a, b, head), i, a, b) for i, a, b in ents)]
        else:
            ents = sorted(ents)
        names = [ann.text[a:b] for _, a, b in ents]
        names += _proper_nouns(ann, s, e)  # names the entity recogniser missed ("Cujo is a 1983 film")
        if p.title and is_name and labels[0] not in ("GPE", "LOC", "PERSON"):  # a title names a work, band ...
            names.append(p.title)
        for name in names:
            words = _words(name)
            if not any(c.isalpha() for c in name) or words <= asked or words & named or name in out:
                continue  # a name has letters ("---" is a Markdown rule, not a bridge)
            if params.names_only and _code_like(ann.text, name, s, e):
                continue  # `WebSocketRoute`, `206 Partial Content`, "python": code and words, not a named thing
            if kind and head and encode is not None:
                name = _outward(ann, name, [ann.text[a:b] for _, a, b in ents], head, encode, params, s)
            out.append(name)
            if len(out) >= n:
                return out
    return out


_CODE_CHARS = re.compile(r"\w[_.(]\w|\(\)")


def _code_like(text: str, name: str, s: int, e: int) -> bool:
    """Whether `name` (in text[s:e]) is code or a plain word rather than a name: written inside an inline code span,
    shaped like an identifier (`websocket.url`, `max_age`, `run()`), or without a capital letter ("python")."""
    if not any(c.isupper() for c in name) or _CODE_CHARS.search(name):
        return True
    at = text.find(name, s, e)
    return at >= 0 and text.count("`", s, at) % 2 == 1


def _outward(ann: Annotation, name: str, places: Sequence[str], head: str, encode: Callable,
             params: HopParams = PARAMS, start: int = 0) -> str:
    """In a chain of places ("a suburb in Colombo, Sri Lanka"), each one after a comma holds the one before: step
    out from `name` while the next one is clearly more like "a <head>" by the embedding ("a country": Sri Lanka
    0.53 against Colombo 0.38), so that the country is not taken for its city; a city stays ("Salt Lake City, Utah
    Territory" for "a city": 0.55 against 0.27). The chain is read in the sentence starting at `start`, not at an
    earlier mention of the name in the passage."""
    import numpy as np

    chain = [name]
    at = ann.text.find(name, start)
    while at >= 0:
        rest = ann.text[at + len(chain[-1]):]
        nxt = next((p for p in places if rest.startswith(", " + p) and p not in chain), None)
        if nxt is None:
            break
        at = at + len(chain[-1]) + 2
        chain.append(nxt)
    if len(chain) == 1:
        return name
    vectors = np.asarray(encode([f"a {head}", *chain]))
    like = vectors[1:] @ vectors[0]
    k = 0
    while k + 1 < len(chain) and like[k + 1] >= like[k] + params.outward_margin:
        k += 1
    return chain[k]


def _kind_rank(ann: Annotation, a: int, b: int, head: str) -> int:
    """How a place name's own words say its kind against the described noun `head` ("country"): 0 when they say it
    ("Katsina State", "Maharashtra state", "the state of Sinaloa" for "state"), 2 when they say another kind
    ("the Hiran region", "Ratnagiri district" for "country"), 1 when they say none ("Colombo, Sri Lanka")."""
    toks = ann.tokens
    inside = [n for n, t in enumerate(toks) if t.start >= a and t.end <= b]
    if not inside:
        return 1
    first, last = inside[0], inside[-1]
    words = {toks[last].lemma.lower()}
    if last + 1 < len(toks) and toks[last + 1].pos == "NOUN":  # "Hiran region", "Maharashtra state"
        words.add(toks[last + 1].lemma.lower())
    if first >= 3 and toks[first - 1].lemma == "of" and toks[first - 2].pos == "NOUN" \
            and toks[first - 3].pos == "DET":  # "the state of Sinaloa" (not "the Hiran region of Somalia")
        words.add(toks[first - 2].lemma.lower())
    if head in words:
        return 0
    return 2 if len(words) > 1 else 1


def q_stop(question: Annotation) -> set[str]:
    """Words of the question's proper-noun runs that are function words ("of", "the"): not names."""
    return {question.text[t.start:t.end].lower() for t in question.tokens if t.pos in ("ADP", "DET", "CCONJ", "PART")}


def descriptions(q: Annotation, contact: Sequence[tuple[int, int, str]] | None = None) -> list[tuple[int, int, str]]:
    """Character spans of the question's descriptions ("the author of Brand", "Hello Love's performer", "the
    city where X was born"), innermost first: a common noun with a prepositional phrase, a relative or
    participle clause, or a possessor, whose subtree names something (a proper noun or a quoted title), and the
    relative clauses without a relative word (`contact`: `contact_clauses(q)`, computed here when not given)."""
    out = []
    for i, t in enumerate(q.tokens):
        if t.pos != "NOUN":
            continue
        kids = q.children(i)
        clause = any(q.tokens[j].dep in ("relcl", "acl") or (q.tokens[j].dep == "poss" and q.tokens[j].pos == "PROPN")
                     for j in kids)
        # "the author of Brand": a prepositional phrase counts only when it names something directly
        named = any(q.tokens[j].dep == "prep" and any(u.head == j and u.dep == "pobj" and u.pos == "PROPN"
                                                      for u in q.tokens) for j in kids)
        if not (clause or named):
            continue
        lo, hi = q.subtree(i)
        for j in kids:  # "the author of Brand a citizen of": an apposition after the noun is not part of it
            if q.tokens[j].dep == "appos" and j > i and not clause:
                hi = min(hi, q.subtree(j)[0] - 1)
        if not any(q.tokens[j].pos == "PROPN" for j in range(lo, hi + 1)):
            continue
        while lo < i and q.tokens[lo].tag in ("WDT", "WP", "WRB"):
            lo += 1  # "which country ..." -> the description starts after the wh-word
        out.append((q.tokens[lo].start, q.tokens[hi].end, t.lemma))
    out += _reattached(q, {d[:2] for d in out})
    out += [d for d in (contact_clauses(q) if contact is None else contact) if d[:2] not in {x[:2] for x in out}]
    # innermost first: a span holding another one comes after it
    out.sort(key=lambda d: (any(a >= d[0] and b <= d[1] and (a, b) != d[:2] for a, b, _ in out), d[1] - d[0]))
    return out


def _reattached(q: Annotation, have: set[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Relative clauses the parser hung on a noun further back ("the name of the waterfall in the country where
    the Bubye River is found": `found` on "name"): a relative clause describes the noun right before it, so
    that noun (with its determiners and modifiers) and the clause are a description too."""
    out = []
    for k, t in enumerate(q.tokens):
        if t.dep != "relcl":
            continue
        lo, hi = q.subtree(k)
        n = lo - 1
        while n >= 0 and q.tokens[n].pos in ("ADP", "PRON") and q.tokens[n].head >= lo:
            n -= 1  # "in which": the preposition belongs to the clause
        if n < 0 or q.tokens[n].pos != "NOUN" or t.head == n:
            continue
        start = n
        while start > 0 and q.tokens[start - 1].head == n and q.tokens[start - 1].dep in ("det", "amod", "compound"):
            start -= 1
        if not any(q.tokens[j].pos == "PROPN" for j in range(lo, hi + 1)):
            continue
        span = (q.tokens[start].start, q.tokens[hi].end)
        if span not in have:
            out.append((*span, q.tokens[n].lemma))
    return out


def _clause(q: Annotation, d: tuple[int, int, str]) -> bool:
    """Whether the description d holds a relative or participle clause ("... where X died")."""
    return any(t.dep in ("relcl", "acl") and t.start >= d[0] and t.end <= d[1] for t in q.tokens)


def label_order(noun: str, encode: Callable | None) -> tuple[tuple[str, ...], float]:
    """The entity labels most likely to name a `noun` ("composer" -> PERSON first, "country" -> GPE first): the
    noun's embedding against spaCy's own description of each label (`spacy.explain`), and the first one's
    similarity (how surely the noun is a kind of that entity: "country" 0.54, "one" 0.15). Without an encoder,
    the default order and 0."""
    if encode is None or not noun:
        return BRIDGE_LABELS, 0.0
    import numpy as np
    import spacy

    glossary = [f"{spacy.explain(label) or label}" for label in BRIDGE_LABELS]
    vectors = np.asarray(encode([f"a {noun}", *glossary]))
    sims = vectors[1:] @ vectors[0]
    order = np.argsort(-sims)
    return tuple(BRIDGE_LABELS[i] for i in order), float(sims[order[0]])


def _holds_root(q: Annotation, span: tuple) -> bool:
    """A description is a phrase inside the question, never its root (the main verb, or the head of a question
    that is all one noun phrase): "does html=True change for StaticFiles?" holds the root "change" (the parser
    took it for a noun), and replacing it by a bridge leaves no question ("What Starlette")."""
    return any(t.dep == "ROOT" and span[0] <= t.start and t.end <= span[1] for t in q.tokens)


def _bridge_for(found: Sequence[tuple[Passage, Annotation]], d_ann: Annotation, labels: tuple[str, ...],
                params: HopParams = PARAMS, kind: str = "", encode: Callable | None = None) -> str | None:
    picked = bridges(d_ann, found, 1, labels, params, kind, encode)
    return picked[0] if picked else None


def multi_hop(question: str, first: Sequence[Passage], retrieve: Callable[[str, int], list[Passage]],
              annotator: Annotator | None = None, params: HopParams = PARAMS,
              encode: Callable | None = None,
              lookup: Callable[[str, int], list[Passage]] | None = None) -> tuple[list[Passage], list[Hop]]:
    """The first retrieval's passages plus those found hop by hop (renumbered), and the hops taken.

    Each hop answers the innermost description of the question on its own ("the author of Brand" -> the
    passages for it -> "Henrik Ibsen") and substitutes the answer into the question ("What country was Henrik
    Ibsen a citizen of?"), which is then retrieved again. A question with nothing left to resolve, or whose
    best passage already covers it, takes no hop. `lookup` (keyword search) finds the passages holding the
    description's proper nouns, which `retrieve` (hybrid) may rank below passages merely like the description."""
    hops = [Hop(question, "", tuple(p.n for p in first))]
    if not first or params.max_hops < 1:
        return list(first), hops
    annotator = annotator or default_annotator()
    q_ann, *anns = annotator.annotate_many([question, *[p.text for p in first]])
    t0 = time.perf_counter()  # the budget counts the hops, not loading the parser
    q_lemmas = _lemmas(q_ann)
    if not q_lemmas or not nested(q_ann):
        return list(first), hops
    if max(len(q_lemmas & _lemmas(a)) / len(q_lemmas) for a in anns) >= params.covered:
        return list(first), hops
    passages = list(first)

    def add(found: Sequence[Passage], limit: int) -> tuple[int, ...]:
        return append_new(passages, found, limit)

    current, current_ann = question, q_ann
    asker_names = {_key(w) for n in _proper_nouns(q_ann, 0, len(question)) for w in n.split()}
    for _ in range(params.max_hops):
        if (time.perf_counter() - t0) * 1000 > params.budget_ms:
            break
        # a description already holding a bridge is resolved only when it is a clause ("the state where X died"),
        # not the thing asked for ("the name of the waterfall in Zimbabwe")
        done = [h.bridge for h in hops if h.bridge]
        clauses = contact_clauses(current_ann)
        contact = {d[:2] for d in clauses}  # the parser's root may sit inside one
        spans = [d for d in descriptions(current_ann, clauses)
                 if (not any(b in current[d[0]:d[1]] for b in done) or _clause(current_ann, d) or d[:2] in contact)
                 and (d[:2] in contact or not _holds_root(current_ann, d))]
        if not spans:
            break
        s, e, noun = spans[0]
        description = current[s:e]
        found = retrieve(description, params.passages_per_hop + 1)
        named = [_key(w) for n in _proper_nouns(current_ann, s, e) for w in n.split()]
        if lookup is not None and named and not any(all(w in _key(p.text) for w in named) for p in found):
            # a rare name ("Nugegoda") is a word the embedding does not know: when no passage found names the
            # described thing, those holding its name by keyword join, the ones naming it first
            seen = {p.chunk_id for p in found}
            found += [p for p in lookup(" ".join(named), params.passages_per_hop + 1) if p.chunk_id not in seen]
            found.sort(key=lambda p: -sum(w in _key(p.text) for w in named) / len(named))
        d_ann, *f_anns = annotator.annotate_many([description, *[p.text for p in found]])
        labels, sure = label_order(noun, encode)
        kind = labels[0] if labels[0] in PLACE_LABELS and sure >= params.kind_similarity else ""
        bridge = _bridge_for(list(zip(found, f_anns)), d_ann, labels, params, kind, encode)
        if not bridge or {_key(w) for w in bridge.split()} & (asker_names - _words(description)):
            break  # nothing found, or what the asker already named ("How did Trump describe Donald Trump?")
        hops.append(Hop(description, bridge, add(found, params.passages_per_hop)))
        current = f"{current[:s]}{bridge}{current[e:]}"
        current_ann = annotator.annotate(current)
        hops.append(Hop(current, bridge, add(retrieve(current, params.passages_per_hop + 1), params.passages_per_hop)))
    return passages, hops
