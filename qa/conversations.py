"""Conversations: follow-up questions resolved against earlier turns, saved in SQLite, with feedback.

A turn's `standalone_question` is what retrieval, refusal and verification see. `rewrite` makes it, always from
the previous turn's *standalone* question (so a third turn builds on the second as rewritten):

- a self-contained question (a clause with its own verb and no pronoun pointing outside itself) stays
  `unchanged`;
- a fragment ("And on its own resolution?", "What about the async client?", "And Russia?", "By advocating
  what?": no finite verb of its own) takes the previous question's frame: a code name replaces the frame's code
  name of the same kind (a parameter for a parameter, a class for a class: "What about allow_origin_regex?" ->
  "What does CORSMiddleware's allow_origin_regex default to?"); a prepositional fragment replaces the frame's
  phrase with the same preposition or is attached ("for an invalid one" -> "for an invalid Range request");
  a noun phrase replaces the phrase of the same entity type or head noun; a fragment asking its own "what"
  continues the frame ("Who signed the accord, while doing what?");
- pronouns pointing outside the turn ("Did it pass?", "What did he say?", "its value", "that one") are replaced
  by the most salient compatible phrase: agreement first (he/she a person, it a thing, they/them plural or a
  group), then the short answer that filled the previous question's "what"/"who", the owner of an attribute
  asked about ("GZipMiddleware" in "GZipMiddleware's minimum_size"), role parallelism (an object pronoun takes
  the previous object), closeness to the main verb; never a phrase the turn itself names ("How did the US vote
  on it?" is not about the US), never what the previous question asked for ("Which version of ..."); people
  named only in the previous answer are candidates too; "that text" takes the earlier phrase with the same
  noun, "my own" the noun the previous question asked about;
- an "And ..."/"What if ..." question naming no thing of its own takes the previous question's topic.

Everything comes from spaCy through `index.linguistics` (dependencies, POS, entities, noun chunks) and, for code
names, the text itself; the rewrite adds only words from the history (method `deterministic`, no model, no
cost). Optionally (`Config.rewrite_with_model`) a model proposes the rewrite first; it is accepted only if it is
one question that keeps every content word of the new turn, adds only words found in the history, and is not an
earlier question again (`RewriteStats` counts acceptances).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from index.documents import content_hash
from qa.answers import Answer, Citation, Passage, SentenceReport
from qa.errors import InvalidInput, NotFound, StoreUnavailable
from qa.terms import content_terms

if TYPE_CHECKING:
    from index.linguistics import Annotation, Annotator
    from qa.service import Event, Service

METHODS = ("unchanged", "model", "deterministic")
RATINGS = {"up": 1, "down": -1, 1: 1, -1: -1}
SHORT_ANSWER_WORDS = 6  # an earlier answer this short is the slot it filled (a pronoun's first candidate)
FRAME_SHARE = 0.8  # a fragment replaces at most this share of the previous question's characters
_WH_TAGS = frozenset({"WP", "WDT", "WRB", "WP$"})
_THING_LABELS = frozenset({"ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", ""})
_WH_WORDS = r"(?:what|which|who|whom|whose|when|where|why|how)\b"
_SKIP_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"})
_ACTOR_LABELS = frozenset({"ORG", "GPE", "NORP"})
_GROUP_LABELS = frozenset({"NORP", "GPE"})  # "they" may stand for a country's people
_FINITE_TAGS = frozenset({"VBZ", "VBP", "VBD", "MD"})
_LEFT_MODIFIERS = frozenset({"det", "amod", "compound", "nummod"})
_SETTING_PREPOSITIONS = frozenset({"in", "inside", "within"})
_DISCOURSE = frozenset({"also", "then", "ok", "okay", "well", "now"})  # leading words a follow-up may start with
_DEMONSTRATIVES = frozenset({"that", "this", "these", "those"})
_ARGUMENT_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr"})
# nouns of adverbial phrases ("by default", "in the end"), never what a pronoun stands for
_ADVERBIAL_NOUNS = frozenset({"default", "end", "time", "way", "moment", "case", "example", "instance", "place",
                              "part", "rest", "lot", "number", "kind", "sort"})  # and parts/quantities of things
# an attribute of its owner: "GZipMiddleware's minimum_size", "the value of a Secret": "it" is the owner
_ATTRIBUTE_NOUNS = frozenset({"value", "default", "size", "name", "type", "attribute", "parameter", "argument",
                              "option", "setting", "flag", "limit", "length", "version", "status", "code"})
_PERSON_NOUNS = frozenset({"president", "leader", "minister", "chancellor", "secretary", "spokesperson", "author",
                           "maintainer", "user", "king", "queen", "prime"})


# --- rewriting -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rewrite:
    standalone: str
    method: str  # "unchanged" | "model" | "deterministic"


@dataclass(frozen=True)
class HistoryTurn:
    """What a follow-up is resolved against: an earlier turn's standalone question and its answer."""

    question: str
    answer: str = ""


@dataclass
class RewriteStats:
    """How often the model's proposal was accepted (only counted when the model is asked)."""

    proposed: int = 0
    accepted: int = 0
    seconds: float = 0.0

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0


def _pronoun_kinds() -> dict[str, str]:
    from index.linguistics import _PRONOUNS  # noqa: PLC0415  (the parser layer's resolvable pronouns)

    return _PRONOUNS


def _ends(a: "Annotation", i: int) -> tuple[int, int]:
    """Character span of token i's subtree (its whole phrase)."""
    lo, hi = a.subtree(i)
    return a.tokens[lo].start, a.tokens[hi].end


def _strip_end(text: str) -> str:
    return text.rstrip(" ?.!").strip()


def _cap(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def _finite(a: "Annotation", first: int = 0) -> bool:
    """A clause of its own: a finite verb or auxiliary, or an imperative ("Show me the config")."""
    body = [t for t in a.tokens[first:] if t.pos != "PUNCT"]
    if any(t.tag in _FINITE_TAGS or t.pos == "AUX" for t in body):
        return True
    return bool(body) and body[0].tag == "VB" and body[0].dep == "ROOT" and len(body) > 2


def _bare(a: "Annotation", first: int) -> bool:
    """After a leading "And": a word or two with no subject and no auxiliary ("And compresslevel?", which the
    tagger may read as a verb) is a fragment, not a clause."""
    body = [t for t in a.tokens[first:] if t.pos != "PUNCT"]
    return len(body) <= 2 and not any(t.pos == "AUX" or t.dep in ("nsubj", "nsubjpass", "expl") for t in body)


# --- identifiers (code names in documentation questions), found in the text, not the parse -----------------
_WORD = re.compile(r"\S+")
_IDENT = re.compile(r"@?[A-Za-z_][\w.]*(?:\(\))?(?:=\S+)?")
_OPEN, _CLOSE = "\"'`([{<“‘", "\"'`)]}>?,;:!.”’"


def _shape(word: str) -> str:
    """The kind of code name a word is ("setting" html=True, "call" request.form() / a.b, "snake" max_age,
    "camel" TestClient, "decorator" @requires), "" for an ordinary word."""
    if not _IDENT.fullmatch(word) or not any(c.islower() for c in word):
        return ""
    if "=" in word:
        return "setting"
    if word.startswith("@"):
        return "decorator"
    if word.endswith("()") or "." in word.strip("."):
        return "call"
    if "_" in word.strip("_"):
        return "snake"
    if re.search(r"[a-z][A-Z]|[A-Z]{2}[a-z]", word):
        return "camel"
    return ""


def _identifiers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, shape) of each code name in the text, without surrounding quotes, backticks or "'s"."""
    out = []
    for m in _WORD.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s] in _OPEN:
            s += 1
        while e > s and text[e - 1] in _CLOSE and not text[s:e].endswith("()"):
            e -= 1
        if text[s:e].endswith(("'s", "’s")):
            e -= 2
        shape = _shape(text[s:e])
        if shape:
            out.append((s, e, shape))
    return out


def _fragment_shape(fragment: str) -> str:
    """The code-name kind of a one-word fragment ("allow_origin_regex", "compresslevel", "WebSocketException");
    a plain lower-case word next to code names is read as a parameter, a capitalised one as a class."""
    word = fragment.strip().strip("`")
    if " " in word or not word:
        return ""
    shape = _shape(word)
    if shape:
        return shape
    if word.isalpha() and word.islower():
        return "snake"
    return "camel" if word[:1].isupper() and word.isalpha() and not word.isupper() else ""


_CLASS_SHAPES = frozenset({"camel", "call", "decorator"})  # things that act (classes, functions)
_PARAM_SHAPES = frozenset({"snake", "setting"})  # things that are set (parameters, attributes)


def _swap_identifier(frame: str, fragment: str) -> str | None:
    """"What about allow_origin_regex?" after "What does CORSMiddleware's max_age default to?": the frame's code
    name of the same kind (a parameter for a parameter, a class for a class) is replaced, the rest kept."""
    shape = _fragment_shape(fragment)
    ids = _identifiers(frame)
    if not shape or not ids:
        return None
    family = _CLASS_SHAPES if shape in _CLASS_SHAPES else _PARAM_SHAPES
    same = [x for x in ids if x[2] == shape] or [x for x in ids if x[2] in family]
    if not same:
        return None
    s, e, _ = same[-1]
    return f"{frame[:s]}{fragment.strip()}{frame[e:]}"


# --- what a pronoun may stand for --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Candidate:
    text: str  # as written (an indefinite article made definite)
    possessive: str  # the shorter phrase used for "its" ("the Secret class" rather than "... in the config")
    kind: str  # person | plural | thing
    label: str  # entity label, "" if none
    role: str  # subj | obj | pobj | poss | other
    depth: int  # dependency hops from the main verb
    topic: bool  # the owner of a main argument's attribute ("GZipMiddleware" in "GZipMiddleware's minimum_size")
    anchor: bool  # a name or code name: what a documentation question is about
    setting: bool  # "html=True": a value, not a thing that acts
    source: int  # 0 the question's filled slot (the short answer), 1 the question, 2 the answer
    start: int
    head: str  # lower-cased head word


def _definite(text: str) -> str:
    return re.sub(r"^(?:a|an)\s+", "the ", text.strip(), flags=re.I)


def _depth(a: "Annotation", i: int) -> int:
    d, seen = 0, set()
    while a.tokens[i].head != i and a.tokens[i].head >= 0 and i not in seen:
        seen.add(i)
        i = a.tokens[i].head
        d += 1
    return d


def _role(dep: str) -> str:
    if dep in ("nsubj", "nsubjpass", "csubj"):
        return "subj"
    if dep in ("dobj", "dative", "oprd", "attr"):
        return "obj"
    if dep == "pobj":
        return "pobj"
    return "poss" if dep == "poss" else "other"


def _role_in(a: "Annotation", i: int | None) -> str:
    """A phrase's role in its question; "in FastAPI" is where the question is set, not a participant."""
    if i is None:
        return "other"
    t = a.tokens[i]
    role = _role(t.dep)
    if role == "pobj" and t.head >= 0 and a.tokens[t.head].lemma in _SETTING_PREPOSITIONS:
        return "other"
    return role


def _compatible(want: str, c: _Candidate) -> bool:
    if want == "person":
        return c.kind == "person"
    if want == "plural":
        return c.kind == "plural" or c.label in _GROUP_LABELS
    return c.kind == "thing" and (c.label in _THING_LABELS)


def _role_match(role: str, c: _Candidate) -> bool:
    if role == "subj":
        return c.role == "subj"
    if role == "obj":
        return c.role in ("obj", "pobj")
    return c.role in ("subj", "obj")  # "its": an argument of the previous question


class Rewriter:
    """Turns follow-ups into standalone questions (see the module's docstring)."""

    def __init__(self, annotator: "Annotator | None" = None,
                 propose: Callable[[str, Sequence[HistoryTurn]], str] | None = None):
        self._annotator = annotator
        self.propose = propose
        self.stats = RewriteStats()

    @property
    def annotator(self) -> "Annotator":
        if self._annotator is None:
            from index.linguistics import default_annotator  # noqa: PLC0415

            self._annotator = default_annotator()
        return self._annotator

    def rewrite(self, question: str, history: Sequence[HistoryTurn]) -> Rewrite:
        question = question.strip()
        if not history:
            return Rewrite(question, "unchanged")
        det = self.deterministic(question, history)
        if det.method == "unchanged" or self.propose is None:
            return det
        t0 = time.perf_counter()
        proposal = self.propose(question, history)
        self.stats.seconds += time.perf_counter() - t0
        self.stats.proposed += 1
        if proposal and acceptable(proposal, question, history):
            self.stats.accepted += 1
            return Rewrite(proposal.strip(), "model")
        return det

    # --- the deterministic rewrite ------------------------------------------------------------------
    def deterministic(self, question: str, history: Sequence[HistoryTurn]) -> Rewrite:
        a = self.annotator.annotate(question)
        toks = a.tokens
        first = 0
        while first < len(toks) and (toks[first].dep == "cc" or toks[first].pos in ("CCONJ", "PUNCT")
                                     or question[toks[first].start:toks[first].end].lower() in _DISCOURSE):
            first += 1  # "And ...", "But ...", "So, ...", "Also ..."
        if first >= len(toks):
            return Rewrite(question, "unchanged")
        frame_of_about = (first + 1 < len(toks) and toks[first].tag in ("WP", "WRB") and toks[first + 1].pos == "ADP"
                          and question[toks[first + 1].start:toks[first + 1].end].lower() == "about")
        start = toks[first + 2].start if frame_of_about and first + 2 < len(toks) else toks[first].start
        body = _strip_end(question[start:])
        previous = _strip_end(history[-1].question)
        if frame_of_about or not _finite(a, first) or (first and _bare(a, first)):
            return Rewrite(self._fragment(previous, body, history) + "?", "deterministic")
        text, changed = question[toks[first].start:], False
        for step in (self._demonstratives, self._pronouns, self._elliptical_one):
            new = step(text, history)
            if new is not None and new != text:
                text, changed = new, True
        if not changed and (first or _conditional(text)):
            text = self._with_topic(text, previous) or text
            changed = True
        if not changed:
            return Rewrite(question, "unchanged")
        return Rewrite(_cap(text), "deterministic")

    def _fragment(self, previous: str, body: str, history: Sequence[HistoryTurn]) -> str:
        """A turn with no clause of its own, built on the previous (already standalone) question."""
        if not body:
            return previous
        fa = self.annotator.annotate(body)
        previous = frame = self._without_appended(previous)  # an earlier ", to what end" is not part of the frame
        if any(t.tag in _WH_TAGS for t in fa.tokens):  # "By advocating what?", "To what end?": continues the frame
            if fa.tokens[0].tag in _WH_TAGS:  # "Why?", "Which one?": both asked
                return f"{frame}? {_cap(body)}"
            return f"{frame}, {body[:1].lower() + body[1:] if not _keeps_case(body) else body}"
        swapped = _swap_identifier(previous, body)
        if swapped is not None:
            return swapped
        return self._fill_frame(previous, body, fa)

    def _without_appended(self, previous: str) -> str:
        """The previous question without a wh-fragment an earlier turn appended to it (", to what end")."""
        if ", " not in previous:
            return previous
        head, tail = previous.rsplit(", ", 1)
        ta = self.annotator.annotate(tail)
        if any(t.tag in _WH_TAGS for t in ta.tokens) and not _finite(ta):
            return head
        return previous

    def _fill_frame(self, frame: str, fragment: str, fa: "Annotation") -> str:
        fr = self.annotator.annotate(frame)
        ftoks = fa.tokens
        if ftoks and ftoks[0].pos == "ADP":  # "on its own resolution": replace the frame's "on ..." or attach
            for i, t in enumerate(fr.tokens):
                if t.pos == "ADP" and t.lemma == ftoks[0].lemma and t.dep in ("prep", "agent", "dative"):
                    s, e = _ends(fr, i)
                    return f"{frame[:s]}{self._one(fragment, fa, frame, fr, s, e)}{frame[e:]}".strip()
            return f"{frame} {fragment}"
        # a noun phrase: replace the frame's phrase of the same entity type, or with the same head noun
        f_label = next((lab for s, e, lab in fa.ents if not fragment[s:e].islower()), "")  # not "asyncio"
        f_head = next((t.lemma for t in ftoks if t.dep == "ROOT"), "")
        spans: list[tuple[int, int]] = []
        if f_label:  # "And the European Commission?" after "... has the UK pledged ...": an actor for an actor
            spans = [(s, e) for s, e, lab in fr.ents if lab == f_label] or [
                (s, e) for s, e, lab in fr.ents if f_label in _ACTOR_LABELS and lab in _ACTOR_LABELS]
        if not spans and f_head:
            spans = [(s, e) for s, e in fr.chunks if any(t.lemma == f_head and s <= t.start < e for t in fr.tokens)]
        if not spans:
            spans = [(s, e) for s, e in fr.chunks
                     if any(s <= t.start < e and t.pos in ("NOUN", "PROPN") and t.lemma not in _ADVERBIAL_NOUNS
                            for t in fr.tokens)]
        if not spans:
            spans = [(s, e) for s, e, lab in fr.ents if lab not in _SKIP_LABELS]
        spans = _whole_words(frame, [(s, e) for s, e in spans if _replaceable(fr, s, e)])
        if spans:
            said = {t.lemma for t in ftoks if t.pos in ("NOUN", "ADJ", "PROPN")}
            named = bool(f_label) or any(t.pos == "PROPN" for t in ftoks) or bool(_identifiers(fragment))

            def fit(span: tuple[int, int]) -> tuple:
                inside = [t for t in fr.tokens if span[0] <= t.start < span[1]]
                shares = any(t.lemma in said for t in inside)  # "the default timeout" for "the default max_redirects"
                name = any(t.pos == "PROPN" for t in inside) or bool(_identifiers(frame[span[0]:span[1]]))
                owner = bool(inside) and inside[-1].dep == "pobj" and fr.tokens[inside[-1].head].lemma == "of"
                subject = any(t.dep in ("nsubj", "nsubjpass") for t in inside)
                return (not shares, name and not named, owner, named and not subject, -span[0])

            s, e = min(spans, key=fit)
            before = [t for t in fr.tokens if t.end <= s]
            if f_label and before and before[-1].tag == "DT" and frame[before[-1].end:s].isspace():
                s = before[-1].start  # "the US" -> "Russia": the fragment brings its own determiner
            phrase = self._one(fragment, fa, frame, fr, s, e)
            if frame[s:e].lower().startswith("the ") and not phrase.lower().startswith(("the ", "a ", "an ")) \
                    and not f_label:
                phrase = "the " + phrase
            return f"{frame[:s]}{phrase}{frame[e:]}".strip()
        return f"{frame} {fragment}"

    @staticmethod
    def _one(fragment: str, fa: "Annotation", frame: str, fr: "Annotation", s: int, e: int) -> str:
        """"for an invalid one" replacing "for a valid Range request": the "one" takes the replaced noun."""
        ones = [t for t in fa.tokens if t.lemma in ("one", "ones") and t.dep in ("pobj", "dobj", "nsubj", "ROOT")]
        nouns = [t for t in fr.tokens if s <= t.start < e and t.pos in ("NOUN", "PROPN")]
        if not ones or not nouns:
            return fragment
        head = nouns[-1]
        first = head
        for t in reversed([t for t in fr.tokens if s <= t.start < head.start]):
            if t.dep == "compound" or (t.pos in ("NOUN", "PROPN") and t.end + 1 >= first.start):
                first = t
            else:
                break
        one = ones[-1]
        return f"{fragment[:one.start]}{frame[first.start:head.end]}{fragment[one.end:]}"

    # --- pronouns, demonstratives, "my own" -------------------------------------------------------
    def _candidates(self, history: Sequence[HistoryTurn]) -> list[_Candidate]:
        """What a pronoun of the new turn may stand for: the previous question's phrases and code names, the
        short answer that filled the previous question's "what"/"who" slot, then the answer's people."""
        prev = history[-1].question
        pa = self.annotator.annotate(prev)
        out = self._phrases(pa, source=1)
        answer = _CITE_MARK.sub("", history[-1].answer.replace("`", "")).strip()
        lead, _, rest = answer.partition("\n\n")
        asks_what = any(t.tag == "WP" and t.dep != "det" for t in pa.tokens)  # "What did X adopt?", "Who ...?"
        if asks_what and 0 < len(lead.split()) <= SHORT_ANSWER_WORDS:
            la = self.annotator.annotate(lead)
            heads = [t for t in la.tokens if t.pos in ("NOUN", "PROPN")]
            root = next((t for t in la.tokens if t.dep == "ROOT" and t.pos in ("NOUN", "PROPN")),
                        heads[0] if heads else None)
            if root is not None and not _identifiers(lead):
                label = next((lab for s, e, lab in la.ents if s <= root.start < e), "")
                both = any(t.lemma == "and" and t.pos == "CCONJ" and not t.ent for t in la.tokens)  # "X and Y"
                kind = ("person" if label == "PERSON" and not both
                        else "plural" if both or root.tag in ("NNS", "NNPS") else "thing")
                text = _definite(lead.rstrip(" .").split("\n")[0])
                out.append(_Candidate(text, text, kind, label, "obj", 0, False, bool(label), False, 0, 0, root.lemma))
        if answer:
            aa = self.annotator.annotate(answer[:600])
            asked = {t.lemma for t in pa.tokens if t.pos in ("NOUN", "VERB", "ADJ") and t.lemma not in _ADVERBIAL_NOUNS}
            near = [t.start for t in aa.tokens if t.lemma in asked] or [0]
            for s, e, lab in aa.ents:  # the person named where the answer talks about what was asked
                if lab == "PERSON":
                    t = aa.text[s:e]
                    out.append(_Candidate(t, t, "person", lab, "other", 9, False, True, False, 2,
                                          min(abs(s - n) for n in near), t.split()[-1].lower()))
        return out

    def _phrases(self, pa: "Annotation", source: int) -> list[_Candidate]:
        text, toks = pa.text, pa.tokens
        ents = {i: lab for i, t in enumerate(toks) for s, e, lab in pa.ents if s <= t.start < e}
        ids = _identifiers(text)
        out: list[_Candidate] = []
        covered: set[int] = set()
        asked = [_ends(pa, t.head) for t in toks if t.tag in _WH_TAGS and t.dep == "det" and t.head >= 0]
        for i, t in enumerate(toks):
            if i > 0 and t.pos in ("VERB", "ADJ", "ADV") and text[t.start:t.start + 1].isupper():
                t = replace(t, pos="PROPN", tag="NNP")  # "What does Depends do?"
            if t.pos not in ("NOUN", "PROPN") or t.dep in ("compound", "amod") or t.lemma in _ADVERBIAL_NOUNS \
                    or not any(c.isalnum() for c in text[t.start:t.end]) or any(s <= t.start < e for s, e in asked):
                continue  # "Which version of Starlette": what is asked for is not yet a referent
            label = ents.get(i, "")
            if label in _SKIP_LABELS:
                continue
            chunk = next(((s, e) for s, e in pa.chunks if s <= t.start and t.end == e), None)
            s = chunk[0] if chunk else t.start
            j = i  # "the Secret class" in "the Secret class's value": its own determiner and modifiers
            while chunk is None and j > 0 and toks[j - 1].head == i and toks[j - 1].dep in _LEFT_MODIFIERS:
                j -= 1
                s = toks[j].start
            e = t.end
            role = _role_in(pa, i)
            if i > 0 and t.tag == "NN" and t.dep != "pobj" and toks[i - 1].pos in ("NOUN", "PROPN") and not any(
                    x.pos == "VERB" and x.lemma != "do" for x in toks) and any(
                    x.lemma == "do" and x.start < t.start for x in toks) and not any(
                    x.lemma == "do" and x.start > t.start for x in toks):
                i, t = i - 1, toks[i - 1]  # "does response.set_cookie use": the tagger read the verb as the noun
                e, role = t.end, "subj"
                j = i
                while j > 0 and toks[j - 1].pos in ("DET", "ADJ", "NOUN", "PROPN", "PART", "NUM") and \
                        toks[j - 1].lemma != "do":
                    j -= 1
                s = min(s, toks[j].start)
                if t.pos not in ("NOUN", "PROPN"):
                    continue
                if t.lemma in _ADVERBIAL_NOUNS:
                    continue
            span = [x for x in toks if s <= x.start < e]
            if any(x.tag in _WH_TAGS or x.pos == "PRON" for x in span):
                continue  # "What status code", "my tests", "its own resolution": not a referent on their own
            right = [j for j, x in enumerate(toks) if x.head == i and x.start > t.start]
            full = e
            for j in right:  # "a resolution condemning ...", "the default max_age of the cookie"
                if toks[j].dep == "acl" or (toks[j].dep == "prep" and toks[j].lemma == "of"):
                    full = max(full, _ends(pa, j)[1])
            if len(text[s:full].split()) > 9:
                full = e
            if text[e:e + 2] == "()":  # "request.form()": the tagger splits the parentheses off
                full, e = max(full, e + 2), e + 2
            for a, b, _ in ids:  # "httpx" of "httpx.Client": the whole code name
                if a < e <= b or a < full <= b:
                    full, e = max(full, b), max(e, b) if a < e <= b else e
            word = text[t.start:t.end]
            code = next((sh for a, b, sh in ids if a <= t.start < b), "")
            kind = ("person" if label == "PERSON" or t.lemma in _PERSON_NOUNS
                    else "plural" if t.tag in ("NNS", "NNPS") and not code
                    and (word.islower() or label in _GROUP_LABELS)
                    else "thing")
            owner = toks[t.head] if t.head >= 0 else t
            if t.dep == "pobj" and owner.lemma == "of" and owner.head >= 0:
                owner = toks[owner.head]
            owned = t.dep in ("poss", "pobj") and owner is not t and owner.pos in ("NOUN", "PROPN") and (
                owner.lemma in _ATTRIBUTE_NOUNS or any(sh in _PARAM_SHAPES for a, b, sh in ids
                                                       if owner.start <= a < owner.end + 1))
            if owned and t.dep == "pobj" and toks[t.head].lemma != "of":
                owned = False
            depth = _depth(pa, i)
            topic = owned and _role(owner.dep) in ("subj", "obj", "pobj") and _depth(pa, toks.index(owner)) <= 2
            out.append(_Candidate(_definite(text[s:full]), _definite(text[s:e]), kind, label, role, depth,
                                  topic, bool(code or label or t.pos == "PROPN"), code == "setting", source, s,
                                  word.lower()))
            covered.update(range(s, full))
        for s, e, sh in ids:  # code names the tagger did not read as nouns ("request.form()")
            if s in covered or any(a <= s < b for a, b in asked):
                continue
            tok = next((j for j, x in enumerate(toks) if x.start <= s < x.end), None)
            dep = toks[tok].dep if tok is not None else ""
            depth = _depth(pa, tok) if tok is not None else 9
            owner = re.search(r"(\S+)['’]s $", text[:s])  # "StreamingResponse's status_code": with its owner
            s = owner.start() if owner and _shape(owner.group(1)) else s
            role = _role_in(pa, tok) if dep != "ROOT" else "subj"
            out.append(_Candidate(text[s:e], text[s:e], "thing", "", role, depth,
                                  False, True, sh == "setting", source, s, text[s:e].lower()))
        return out

    def _pick(self, want: str, role: str, candidates: list[_Candidate], taken: set[str]) -> _Candidate | None:
        fits = [c for c in candidates if _compatible(want, c) and c.head not in taken and c.text.lower() not in taken]
        if not fits and want == "plural":  # "In what order do they run?" after "... add middleware ...": a mass noun
            # or a name, never a phrase counted as one ("any peace deal")
            fits = [c for c in candidates if c.kind == "thing" and c.head not in taken and c.text.lower() not in taken
                    and not re.match(r"(?:the|a|an|any|every|each|one|this|that)\b", c.text, re.I)]
        if not fits:
            return None
        parallel = want != "person"  # a person pronoun ("according to him") is the main clause's person
        best = min(fits, key=lambda c: (c.source != 0, not c.topic, c.setting, parallel and not _role_match(role, c),
                                        c.depth, c.source, c.start))
        if role == "obj" and best.topic:  # "Can I raise it?": the attribute asked about, with its owner
            owned = [c for c in fits if c is not best and best.text in c.text and not c.setting]
            if owned:
                return max(owned, key=lambda c: len(c.text))
        return best

    def _taken(self, a: "Annotation", skip: set[int]) -> set[str]:
        """Words of the turn itself: a pronoun never stands for its own clause's subject or objects ("How did
        the US vote on it?": it is not the US)."""
        out = set()
        for i, t in enumerate(a.tokens):
            if i not in skip and t.pos in ("NOUN", "PROPN"):
                out.add(a.text[t.start:t.end].lower())
        out.update(a.text[s:e].lower() for s, e, _ in _identifiers(a.text))
        return out

    def _pronouns(self, text: str, history: Sequence[HistoryTurn]) -> str | None:
        a = self.annotator.annotate(text)
        kinds = _pronoun_kinds()
        inside = {(c.start, c.end) for c in a.corefs if _within(a, c)}
        targets = [(i, t) for i, t in enumerate(a.tokens)
                   if (t.pos == "PRON" and t.tag in ("PRP", "PRP$") and text[t.start:t.end].lower() in kinds
                       and (t.start, t.end) not in inside and not _bound_inside(a, i))
                   or (t.lemma in ("that", "this") and t.pos == "PRON" and t.dep in _ARGUMENT_DEPS)]
        if not targets:
            return None
        candidates = self._candidates(history)
        taken = self._taken(a, {i for i, _ in targets})
        out, last, changed = [], 0, False
        for i, t in targets:
            word = text[t.start:t.end].lower()
            want = kinds.get(word, "thing")
            role = "poss" if t.tag == "PRP$" else _role(t.dep) if _role(t.dep) != "pobj" else "obj"
            pick = self._pick(want, role, candidates, taken)
            if pick is None:
                continue
            taken.update({pick.head, pick.text.lower()})
            changed = True
            out.append(text[last:t.start])
            out.append(_possessive(pick.possessive) if t.tag == "PRP$" else pick.text)
            last = t.end
        if not changed:
            return None
        out.append(text[last:])
        return "".join(out).strip()

    def _demonstratives(self, text: str, history: Sequence[HistoryTurn]) -> str | None:
        """"that text" -> the earlier phrase with the same head noun ("the Ukrainian text"), else "the text"."""
        a = self.annotator.annotate(text)
        toks = a.tokens
        for i, t in enumerate(toks[:-1]):
            nxt = toks[i + 1]
            if t.lemma not in _DEMONSTRATIVES or t.tag != "DT" or nxt.pos not in ("NOUN", "PROPN", "ADJ"):
                continue
            j = i + 1
            while j + 1 < len(toks) and toks[j].pos == "ADJ" and toks[j + 1].pos in ("NOUN", "PROPN", "ADJ"):
                j += 1
            noun = toks[j]
            if noun.lemma in ("one", "own"):
                continue
            found = None
            for h in reversed(history):
                for source in (h.question, _CITE_MARK.sub("", h.answer.replace("`", ""))[:600]):
                    sa = self.annotator.annotate(source)
                    for s, e in sa.chunks:
                        heads = [x for x in sa.tokens if s <= x.start < e]
                        if heads and heads[-1].lemma == noun.lemma and len(source[s:e].split()) > 1 and not any(
                                x.lemma in _DEMONSTRATIVES or x.tag in _WH_TAGS or x.pos == "PRON" for x in heads):
                            found = _definite(source[s:e])
                            break
                    if found:
                        break
                if found:
                    break
            phrase = found or f"the {text[nxt.start:noun.end]}"
            return f"{text[:t.start]}{phrase}{text[noun.end:]}"
        return None

    def _elliptical_one(self, text: str, history: Sequence[HistoryTurn]) -> str | None:
        """"How do I register my own?", "Can I use that one?": the noun comes from the previous question's
        focus (the noun of its "which ..."/"what ..." phrase, else its main argument)."""
        a = self.annotator.annotate(text)
        toks = a.tokens
        hole = None
        for i, t in enumerate(toks):
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if text[t.start:t.end].lower() == "own" and (nxt is None or nxt.pos not in ("NOUN", "PROPN", "ADJ")):
                hole = (t.end, t.end, True)
            elif t.lemma == "one" and i > 0 and toks[i - 1].tag in ("DT", "JJ") and \
                    (nxt is None or nxt.pos not in ("NOUN", "PROPN") and text[nxt.start:nxt.end].lower() != "of"):
                hole = (t.start, t.end, False)
        if hole is None:
            return None
        noun = self._focus_noun(history[-1].question)
        if not noun:
            return None
        s, e, after = hole
        return f"{text[:s]} {noun}{text[e:]}" if after else f"{text[:s]}{noun}{text[e:]}"

    def _focus_noun(self, question: str) -> str:
        pa = self.annotator.annotate(question)
        toks = pa.tokens
        heads = [i for i, t in enumerate(toks) if t.tag == "WDT" and t.head >= 0 and toks[t.head].pos == "NOUN"]
        if not heads:
            heads = [i for i, t in enumerate(toks) if t.pos == "NOUN" and _role(t.dep) in ("subj", "obj")
                     and t.lemma not in _ADVERBIAL_NOUNS]
            if not heads:
                return ""
        else:
            heads = [toks[heads[0]].head]
        h = heads[0]
        s = h
        while s > 0 and toks[s - 1].dep == "compound" and toks[s - 1].head == h:
            s -= 1
        return pa.text[toks[s].start:toks[h].end]

    def _with_topic(self, text: str, previous: str) -> str | None:
        """An "And ..." question (or "What if ...") naming no thing of its own takes the previous question's
        topic: its documented name, with the preposition it had there ("... in FastAPI", "... for TestClient")."""
        a = self.annotator.annotate(text)
        if any(sh not in _PARAM_SHAPES for _, _, sh in _identifiers(text)) or any(t.pos == "PROPN" for t in a.tokens) \
                or any(lab not in _SKIP_LABELS for _, _, lab in a.ents):
            return None  # it names its own thing (a parameter alone, "max_part_size", does not)
        pa = self.annotator.annotate(previous)
        anchors = [c for c in self._phrases(pa, 1) if c.anchor and c.kind != "person" and not c.setting
                   and _shape(c.possessive) not in _PARAM_SHAPES and c.possessive.lower() not in text.lower()]
        if not anchors:
            return None
        best = min(anchors, key=lambda c: (not c.topic, not _shape(c.text), c.depth, c.start))
        tok = next((x for x in pa.tokens if x.start >= best.start and x.pos in ("NOUN", "PROPN", "VERB")), None)
        prep = "for"
        if tok is not None and tok.dep == "pobj" and tok.head >= 0 and pa.tokens[tok.head].lemma != "of":
            prep = pa.text[pa.tokens[tok.head].start:pa.tokens[tok.head].end].lower()
        return f"{_strip_end(text)} {prep} {best.possessive}?"


def _whole_words(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans widened to whole words ("a sub" + "-" + "application" -> "a sub-application"), the longest of those
    that overlap kept."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s > 0 and not text[s - 1].isspace():
            s -= 1
        while e < len(text) and not text[e].isspace() and text[e] not in "?!,;:":
            e += 1
        out.append((s, e))
    return [x for x in dict.fromkeys(out)
            if not any(y != x and y[0] <= x[0] and x[1] <= y[1] for y in out)]


def _bound_inside(a: "Annotation", i: int) -> bool:
    """A pronoun that stands for a phrase of its own turn: "the app and its routes", or in a subordinate clause
    after the turn's named subject ("Will Starlette serve requests before it has run?")."""
    toks = a.tokens
    head = toks[i].head
    if 0 <= head < len(toks) and toks[head].dep == "conj" and toks[i].tag == "PRP$":
        return True
    j, seen = i, set()
    while 0 <= toks[j].head < len(toks) and toks[j].head != j and j not in seen:
        seen.add(j)
        j = toks[j].head
        if toks[j].pos in ("VERB", "AUX") and toks[j].dep in ("advcl", "ccomp", "relcl", "conj"):
            root = toks[j].head
            return any(t.head == root and t.dep in ("nsubj", "nsubjpass") and t.start < toks[i].start
                       and (t.pos == "PROPN" or _shape(a.text[t.start:t.end])) for t in toks)
    return False


def _within(a: "Annotation", c) -> bool:
    """Whether a pronoun the parser resolved inside the turn stands for that phrase rather than for something
    earlier: only for the turn's own subject or a name ("Will Starlette serve requests before it has run?"), never
    for its question word or an object ("How do I set the max-age for its files?": its = the earlier topic)."""
    if re.match(_WH_WORDS, c.antecedent.text, re.I):
        return False
    heads = set(c.antecedent.heads)
    pron = next((t for t in a.tokens if t.start == c.start), None)
    if pron is not None and 0 <= pron.head < len(a.tokens) and a.tokens[pron.head].dep == "conj":
        return True  # "the app and its routes"
    return any(t.lemma in heads and (t.dep in ("nsubj", "nsubjpass") or t.pos == "PROPN") and t.end <= c.start
               for t in a.tokens)


def _possessive(phrase: str) -> str:
    return f"{phrase}'" if phrase.endswith("s") and not phrase.endswith("ss") else f"{phrase}'s"


def _keeps_case(text: str) -> bool:
    w = text.split()[0] if text.split() else ""
    return bool(_shape(w)) or (len(w) > 1 and w.isupper())


def _conditional(text: str) -> bool:
    """"What if I close before accepting?", "What happens if ...": a condition on the earlier topic."""
    return bool(re.match(r"(?:what|and what)(?: happens)? (?:if|when)\b", text.strip(), re.I))


def _replaceable(a: "Annotation", s: int, e: int) -> bool:
    """A frame's phrase a fragment may replace: not holding the question word or the main verb, and not most
    of the question."""
    toks = [t for t in a.tokens if s <= t.start < e]
    if any(t.tag in _WH_TAGS or t.dep == "ROOT" for t in toks):
        return False
    return (e - s) <= FRAME_SHARE * len(a.text)


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def acceptable(proposal: str, question: str, history: Sequence[HistoryTurn]) -> bool:
    """A model's rewrite is kept only if it is one question that keeps every content word of the new turn, adds
    only words found in the history, and is not an earlier question again (nor only that question's words)."""
    if not proposal or "\n" in proposal.strip():
        return False
    mine = content_terms(question)
    theirs = content_terms(proposal)
    known = mine | set().union(*(content_terms(f"{h.question} {h.answer}") for h in history))
    if not theirs or not mine <= theirs or not theirs <= known:
        return False
    for h in history:
        earlier = content_terms(h.question)
        if _normal(proposal) == _normal(h.question) or theirs <= earlier:
            return False  # repeats an earlier question: the new turn added nothing
    return True


def model_proposer(generator) -> Callable[[str, Sequence[HistoryTurn]], str]:
    """A proposer backed by the local llama.cpp model (greedy, a few dozen tokens)."""

    def propose(question: str, history: Sequence[HistoryTurn]) -> str:
        lines = "\n".join(f"User: {h.question}\nAssistant: {h.answer[:300]}" for h in history[-2:])
        messages = [
            {"role": "system", "content": "Rewrite the user's last question so it can be understood without the "
                                          "conversation. Use only words from the conversation. Reply with the "
                                          "question only."},
            {"role": "user", "content": f"{lines}\nUser: {question}\n\nStandalone question:"},
        ]
        with generator._lock:  # one llama.cpp context serves one request at a time
            llm = generator._load()
            out = llm.create_chat_completion(messages=messages, temperature=0.0, top_k=1, max_tokens=40)
        return (out["choices"][0]["message"].get("content") or "").strip().split("\n")[0]

    return propose


# --- the store ---------------------------------------------------------------------------------------------
@dataclass
class Turn:
    n: int  # 1-based
    question: str
    standalone_question: str
    method: str  # how the standalone question was made (METHODS)
    answer: Answer
    rating: int | None = None  # +1 (thumbs up), -1 (thumbs down), None (not rated)
    comment: str | None = None
    created: float = 0.0

    def to_dict(self) -> dict:
        return {"n": self.n, "question": self.question, "standalone_question": self.standalone_question,
                "rewrite": self.method, "answer": self.answer.to_dict(), "rating": self.rating,
                "comment": self.comment, "created": self.created}


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    collection: str
    generator: str | None
    title: str
    turns: int
    created: float
    updated: float

    def to_dict(self) -> dict:
        return asdict(self)


def answer_from_dict(d: dict, passages: Sequence[dict] = ()) -> Answer:
    """An Answer back from its JSON contract (as saved with a turn)."""
    return Answer(
        question=d["question"], answer=d["answer"], refused=d["refused"],
        citations=[Citation(n=c["n"], source=c["source"], chunk_id=c["chunk_id"], quote=c["quote"], start=c["start"],
                            end=c["end"], doc_id=c.get("doc_id", ""), page=c.get("page"), section=c.get("section") or "")
                   for c in d.get("citations", [])],
        generator=d["generator"], timings_ms=dict(d.get("timings_ms", {})), grounding=d.get("grounding", 0.0),
        sentences=[SentenceReport(**s) for s in d.get("sentences", [])],
        passages=[Passage(**{**p, "units": tuple(tuple(u) for u in p.get("units", ()))}) for p in passages],
        collection=d.get("collection", "default"), raw_answer=d.get("raw_answer", ""), fallback=d.get("fallback"),
        answerability=d.get("answerability", 0.0), refusal_reason=d.get("refusal_reason"),
        short_answer=d.get("short_answer"), hops=list(d.get("hops", [])), answer_id=d.get("answer_id", ""),
        standalone_question=d.get("standalone_question"), conversation_id=d.get("conversation_id"),
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, collection TEXT NOT NULL, generator TEXT, title TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, n INTEGER NOT NULL,
    question TEXT NOT NULL, standalone_question TEXT NOT NULL, method TEXT NOT NULL, answer_id TEXT NOT NULL,
    answer_json TEXT NOT NULL, passages_json TEXT NOT NULL, rating INTEGER, comment TEXT, created REAL NOT NULL,
    rated REAL, PRIMARY KEY (conversation_id, n));
CREATE INDEX IF NOT EXISTS turns_answer ON turns(answer_id);
"""


class ConversationStore:
    """Conversations, their turns (the full answer JSON and the cited passages of each) and feedback, in one
    SQLite file under the home. One connection per operation, so any thread may use it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def _db(self):
        try:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"Cannot open the conversation store {self.path}: {exc}. Check that the home "
                                   "folder is writable (GROUNDQA_HOME).") from exc
        try:
            db.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                db.executescript(_SCHEMA)
                self._ready = True
            with db:
                yield db
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"The conversation store {self.path} failed: {exc}. Check the disk and the "
                                   "file's permissions.") from exc
        finally:
            db.close()

    def create(self, collection: str, generator: str | None = None) -> ConversationInfo:
        now = time.time()
        cid = content_hash(collection, str(time.time_ns()), secrets.token_hex(8))
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, '', ?, ?)", (cid, collection, generator, now, now))
        return ConversationInfo(cid, collection, generator, "", 0, now, now)

    def info(self, cid: str) -> ConversationInfo:
        with self._db() as db:
            row = db.execute("SELECT c.id, c.collection, c.generator, c.title, COUNT(t.n), c.created, c.updated "
                             "FROM conversations c LEFT JOIN turns t ON t.conversation_id = c.id WHERE c.id = ? "
                             "GROUP BY c.id", (str(cid),)).fetchone()
        if row is None:
            raise NotFound(f"No conversation {cid!r}. List the saved ones with GET /v1/conversations (or start a "
                           "new one with POST /v1/conversations, `qa chat`).")
        return ConversationInfo(*row)

    def list(self) -> list[ConversationInfo]:
        with self._db() as db:
            rows = db.execute("SELECT c.id, c.collection, c.generator, c.title, COUNT(t.n), c.created, c.updated "
                              "FROM conversations c LEFT JOIN turns t ON t.conversation_id = c.id GROUP BY c.id "
                              "ORDER BY c.updated DESC").fetchall()
        return [ConversationInfo(*r) for r in rows]

    def delete(self, cid: str) -> None:
        self.info(cid)
        with self._db() as db:
            db.execute("DELETE FROM turns WHERE conversation_id = ?", (cid,))
            db.execute("DELETE FROM conversations WHERE id = ?", (cid,))

    def turns(self, cid: str) -> list[Turn]:
        with self._db() as db:
            rows = db.execute("SELECT n, question, standalone_question, method, answer_json, passages_json, rating, "
                              "comment, created FROM turns WHERE conversation_id = ? ORDER BY n", (cid,)).fetchall()
        return [Turn(n, q, sq, m, answer_from_dict(json.loads(aj), json.loads(pj)), r, c, t)
                for n, q, sq, m, aj, pj, r, c, t in rows]

    def add_turn(self, cid: str, turn: Turn) -> None:
        cited = {c.passage for c in turn.answer.citations}
        passages = [asdict(p) for p in turn.answer.passages if p.n in cited]
        with self._db() as db:
            db.execute("INSERT INTO turns (conversation_id, n, question, standalone_question, method, answer_id, "
                       "answer_json, passages_json, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (cid, turn.n, turn.question, turn.standalone_question, turn.method, turn.answer.answer_id,
                        json.dumps(turn.answer.to_dict(), ensure_ascii=False), json.dumps(passages, ensure_ascii=False),
                        turn.created))
            db.execute("UPDATE conversations SET updated = ?, title = CASE WHEN title = '' THEN ? ELSE title END "
                       "WHERE id = ?", (turn.created, turn.question[:80], cid))

    def rate(self, answer_id: str, rating: int, comment: str | None) -> tuple[str, int]:
        with self._db() as db:
            row = db.execute("SELECT conversation_id, n FROM turns WHERE answer_id = ? ORDER BY created DESC LIMIT 1",
                             (str(answer_id),)).fetchone()
            if row is None:
                raise NotFound(f"No saved answer {answer_id!r}. Feedback is stored with a conversation's turn: use the "
                               "answer_id of an answer given in a conversation (POST /v1/conversations/{id}/ask).")
            db.execute("UPDATE turns SET rating = ?, comment = ?, rated = ? WHERE conversation_id = ? AND n = ?",
                       (rating, comment, time.time(), row[0], row[1]))
        return row[0], row[1]

    def rated(self) -> list[tuple[str, Turn]]:
        with self._db() as db:
            rows = db.execute("SELECT conversation_id, n FROM turns WHERE rating IS NOT NULL ORDER BY rated").fetchall()
        out = []
        for cid, n in rows:
            out.append((cid, next(t for t in self.turns(cid) if t.n == n)))
        return out


_CITE_MARK = re.compile(r"\s*\[\d+\]")


def export_items(rated: Sequence[tuple[str, Turn]]) -> tuple[list[dict], int]:
    """Eval items (evals/datasets.py's JSONL format) from rated turns, and how many were left out.

    Rated up: the answer given is the reference (`answers`, its quotes the `evidence`), or, for a refusal, the
    question is unanswerable. Rated down: an answer given was wrong, so the documents do not answer it as the
    system did: unanswerable (a regression case wants it refused). A refusal rated down has no reference answer
    to score against and is left out (counted)."""
    items, skipped = [], 0
    for cid, t in rated:
        a = t.answer
        if t.rating < 0 and a.refused:
            skipped += 1
            continue
        answerable = t.rating > 0 and not a.refused
        items.append({
            "id": f"fb-{a.answer_id}",
            "question": t.standalone_question or t.question,
            "answers": [_CITE_MARK.sub("", a.answer).strip()] if answerable else [],
            "answerable": answerable,
            "evidence": [c.quote for c in a.citations] if answerable else [],
            "answer_given": a.answer,
            "citations": [c.to_dict() for c in a.citations],
            "rating": "up" if t.rating > 0 else "down",
            "comment": t.comment,
            "conversation_id": cid,
            "turn": t.n,
            "asked": t.question,
        })
    return items, skipped


def check_rating(rating: object) -> int:
    if isinstance(rating, bool) or rating not in RATINGS:
        raise InvalidInput(f"rating must be \"up\" or \"down\" (or 1 / -1), got {rating!r}.")
    return RATINGS[rating]


# --- a conversation ------------------------------------------------------------------------------------------
class Conversation:
    """One saved conversation: `ask`/`ask_stream` resolve each question against the earlier turns."""

    def __init__(self, service: "Service", info: ConversationInfo):
        self.service = service
        self.info = info
        self.id = info.id
        self.collection = info.collection
        self.generator = info.generator

    @property
    def turns(self) -> list[Turn]:
        return self.service.conversation_store.turns(self.id)

    def history(self, turns: Sequence[Turn] | None = None) -> list[HistoryTurn]:
        """The most recent turns that fit in `max_history_chars`, oldest first."""
        turns = self.turns if turns is None else turns
        budget = self.service.config.max_history_chars
        out: list[HistoryTurn] = []
        for t in reversed(turns):
            h = HistoryTurn(t.standalone_question, "" if t.answer.refused else t.answer.lead_text())
            size = len(h.question) + len(h.answer)
            if out and size > budget:
                break
            out.append(HistoryTurn(h.question, h.answer[: max(0, budget - len(h.question))]))
            budget -= size
            if budget <= 0:
                break
        return out[::-1]

    def ask(self, text: str, **kw) -> Answer:
        for event in self.ask_stream(text, **kw):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("ask_stream ended without an answer")  # pragma: no cover

    def ask_stream(self, text: str, **kw) -> Iterator["Event"]:
        service = self.service
        question = service._question(text)
        turns = self.turns
        limit = service.config.max_turns
        if len(turns) >= limit:
            raise InvalidInput(f"Conversation {self.id} has reached its limit of {limit} turns. Start a new "
                               "conversation (/new in `qa chat`, POST /v1/conversations) or raise GROUNDQA_MAX_TURNS.")
        rw = service.rewriter.rewrite(question, self.history(turns))
        extra: list[Passage] = []
        if turns and rw.method != "unchanged":  # the previous turn's cited passages are candidates too
            extra = list(turns[-1].answer.passages)
        kw.setdefault("generator", self.generator)
        for event in service.ask_stream(rw.standalone, kw.pop("collection", None) or self.collection,
                                        extra_passages=extra, **kw):
            if event.kind == "answer":
                a = event.answer
                n = len(turns) + 1
                a.question = question
                a.standalone_question = rw.standalone
                a.conversation_id = self.id
                a.answer_id = content_hash(a.answer_id, self.id, str(n))  # feedback lands on this one turn
                service.conversation_store.add_turn(self.id, Turn(n, question, rw.standalone, rw.method, a,
                                                                  created=time.time()))
            yield event

    def to_dict(self, turns: bool = True) -> dict:
        info = self.service.conversation_store.info(self.id)
        out = info.to_dict()
        if turns:
            out["turns"] = [t.to_dict() for t in self.turns]
        return out


def history_from_messages(messages: Sequence[tuple[str, str]]) -> list[HistoryTurn]:
    """Earlier (role, content) chat messages as history: each user message with the assistant reply after it."""
    out: list[HistoryTurn] = []
    for role, content in messages:
        if role == "user":
            out.append(HistoryTurn(content))
        elif role == "assistant" and out and not out[-1].answer:
            out[-1] = HistoryTurn(out[-1].question, content)
    return out


__all__ = ["Conversation", "ConversationInfo", "ConversationStore", "HistoryTurn", "Rewrite", "Rewriter",
           "RewriteStats", "Turn", "acceptable", "answer_from_dict", "export_items"]
