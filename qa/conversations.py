"""Conversations: follow-up questions resolved against earlier turns, saved in SQLite, with feedback.

A turn's `standalone_question` is what retrieval, refusal and verification see. `rewrite` makes it:

- a self-contained question (a clause with its own verb and no pronoun pointing outside itself) stays
  `unchanged`;
- an elliptical follow-up ("And on its own resolution?", "What about the async client?", "And Russia?": no verb
  of its own) takes the previous standalone question's frame: a prepositional fragment replaces the frame's
  phrase with the same preposition or is attached to it ("How did the US vote on its own resolution?"); a noun
  phrase replaces the frame's phrase of the same entity type or head noun ("How did Russia vote?");
- a full follow-up whose pronouns point outside it ("Did it pass?") gets them replaced by the previous
  question's most recent compatible noun phrase or entity ("Did the resolution pass?").

Everything comes from spaCy through `index.linguistics` (dependencies, POS, entities, noun chunks); the
rewrite adds only words from the history (method `deterministic`, no model, no cost). Optionally
(`Config.rewrite_with_model`) a model proposes the rewrite first; it is accepted only if it keeps every
content word of the new turn and adds only words found in the history (`RewriteStats` counts acceptances).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
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
_SKIP_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"})


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
    kids = {i}
    changed = True
    while changed:
        changed = False
        for j, t in enumerate(a.tokens):
            if j not in kids and t.head in kids and t.head != j:
                kids.add(j)
                changed = True
    return a.tokens[min(kids)].start, a.tokens[max(kids)].end


def _strip_end(text: str) -> str:
    return text.rstrip(" ?.!").strip()


def _verbal(a: "Annotation") -> bool:
    return any(t.pos in ("VERB", "AUX") for t in a.tokens)


def _bare(a: "Annotation", first: int) -> bool:
    """After a leading "And": a word or two with no subject and no auxiliary ("And compresslevel?", which the
    tagger may read as a verb) is a fragment, not a clause."""
    body = [t for t in a.tokens[first:] if t.pos != "PUNCT"]
    return len(body) <= 2 and not any(t.pos == "AUX" or t.dep in ("nsubj", "nsubjpass", "expl") for t in body)


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

    def deterministic(self, question: str, history: Sequence[HistoryTurn]) -> Rewrite:
        a = self.annotator.annotate(question)
        toks = a.tokens
        first = 0
        while first < len(toks) and (toks[first].dep == "cc" or toks[first].pos in ("CCONJ", "PUNCT")):
            first += 1  # "And ...", "But ...", "So, ..."
        if first >= len(toks):
            return Rewrite(question, "unchanged")
        frame_of_about = (first + 1 < len(toks) and toks[first].tag in ("WP", "WRB") and toks[first + 1].pos == "ADP"
                          and toks[first + 1].dep == "ROOT")  # "What about X?", "How about X?"
        start = toks[first + 2].start if frame_of_about and first + 2 < len(toks) else toks[first].start
        body = _strip_end(question[start:])
        previous = _strip_end(history[-1].question)
        if frame_of_about or not _verbal(a) or (first and _bare(a, first)):
            fragment_ann = self.annotator.annotate(body)
            if any(t.tag in _WH_TAGS for t in fragment_ann.tokens):  # "Of what?", "To what end?": both asked
                return Rewrite(f"{previous}? {body[:1].upper()}{body[1:]}?", "deterministic")
            candidate = self._fill_frame(previous, body, fragment_ann)
            return Rewrite(candidate + "?", "deterministic")
        replaced = self._resolve_pronouns(question, a, first, history)
        if replaced is not None:
            return Rewrite(replaced, "deterministic")
        if first:  # "And what did Macron say?": the same question without the conjunction
            rest = question[toks[first].start:]
            return Rewrite(rest[:1].upper() + rest[1:], "deterministic")
        return Rewrite(question, "unchanged")

    def _fill_frame(self, frame: str, fragment: str, fa: "Annotation") -> str:
        if not fragment:
            return frame
        fr = self.annotator.annotate(frame)
        ftoks = fa.tokens
        if ftoks and ftoks[0].pos == "ADP":  # "on its own resolution": replace the frame's "on ..." or attach
            for i, t in enumerate(fr.tokens):
                if t.pos == "ADP" and t.lemma == ftoks[0].lemma and t.dep == "prep":
                    s, e = _ends(fr, i)
                    return f"{frame[:s]}{fragment}{frame[e:]}".strip()
            return f"{frame} {fragment}"
        # a noun phrase: replace the frame's phrase of the same entity type, or with the same head noun
        f_label = next((lab for _, _, lab in fa.ents), "")
        f_head = next((t.lemma for t in ftoks if t.dep == "ROOT"), "")
        spans: list[tuple[int, int]] = []
        if f_label:
            spans = [(s, e) for s, e, lab in fr.ents if lab == f_label]
        if not spans and f_head:
            spans = [(s, e) for s, e in fr.chunks if any(t.lemma == f_head and s <= t.start < e for t in fr.tokens)]
        if not spans:
            spans = [(s, e) for s, e in fr.chunks
                     if any(s <= t.start < e and t.pos in ("NOUN", "PROPN") for t in fr.tokens)]
        if not spans:
            spans = [(s, e) for s, e, lab in fr.ents if lab not in _SKIP_LABELS]
        spans = [(s, e) for s, e in spans if _replaceable(fr, s, e)]
        if spans:
            s, e = spans[-1]
            before = [t for t in fr.tokens if t.end <= s]
            if f_label and before and before[-1].tag == "DT" and frame[before[-1].end:s].isspace():
                s = before[-1].start  # "the US" -> "Russia": the fragment brings its own determiner
            phrase = fragment
            if frame[s:e].lower().startswith("the ") and not phrase.lower().startswith(("the ", "a ", "an ")) \
                    and not f_label:
                phrase = "the " + phrase
            return f"{frame[:s]}{phrase}{frame[e:]}".strip()
        return f"{frame} {fragment}"

    def _antecedents(self, history: Sequence[HistoryTurn]) -> list[tuple[str, str, str]]:
        """(text, entity label, kind) of what a pronoun may stand for, most salient first: the previous answer's
        phrase when that answer is a short one filling the object the question asked for ("What did the UN
        adopt?" "a resolution ..." "Did it pass?"), then the previous question's phrases, its subject first
        (salience by grammatical role, then recency)."""
        answer = history[-1].answer.strip().split("\n")[0]
        asked = self.annotator.annotate(history[-1].question)
        filled = any(t.tag in ("WP", "WDT") and t.dep == "dobj" for t in asked.tokens)  # "What did X adopt?"
        short = answer if filled and 0 < len(answer.split()) <= SHORT_ANSWER_WORDS else ""
        return (self._phrases(short, head_first=True)[:1] if short else []) + self._phrases(history[-1].question)

    def _phrases(self, prev: str, head_first: bool = False) -> list[tuple[str, str, str]]:
        pa = self.annotator.annotate(prev)
        scored: list[tuple[int, int, tuple[str, str, str]]] = []
        for s, e in [(s, e) for s, e, lab in pa.ents if lab not in _SKIP_LABELS] + list(pa.chunks):
            toks = [t for t in pa.tokens if s <= t.start < e]
            heads = [t for t in toks if t.pos in ("NOUN", "PROPN")]
            if not heads or any(t.tag in _WH_TAGS or t.pos == "PRON" for t in toks):
                continue  # "What status code", "its own resolution": not a referent on their own
            label = next((lab for es, ee, lab in pa.ents if es < e and s < ee), "")
            kind = "person" if label == "PERSON" else ("plural" if heads[-1].tag in ("NNS", "NNPS") else "thing")
            subject = any(t.dep in ("nsubj", "nsubjpass") for t in toks)
            scored.append((0 if subject or head_first else 1, s if head_first else -s, (prev[s:e], label, kind)))
        return [x for _, _, x in sorted(scored, key=lambda x: (x[0], x[1]))]

    def _resolve_pronouns(self, question: str, a: "Annotation", first: int,
                          history: Sequence[HistoryTurn]) -> str | None:
        kinds = _pronoun_kinds()
        inside = {(c.start, c.end) for c in a.corefs}
        targets = [t for t in a.tokens[first:] if t.pos == "PRON" and t.tag in ("PRP", "PRP$")
                   and question[t.start:t.end].lower() in kinds and (t.start, t.end) not in inside]
        if not targets:
            return None
        candidates = self._antecedents(history)
        out, last = [], a.tokens[first].start
        changed = False
        for t in targets:
            word = question[t.start:t.end].lower()
            want = kinds[word]
            pick = next((text for text, label, kind in candidates
                         if (want == "person" and kind == "person") or (want == "thing" and kind == "thing"
                                                                        and label in _THING_LABELS)
                         or (want == "plural" and (kind == "plural" or label in ("ORG", "NORP", "GPE")))), None)
            if pick is None:
                continue
            changed = True
            out.append(question[last:t.start])
            out.append(f"{pick}'s" if t.tag == "PRP$" else pick)
            last = t.end
        if not changed:
            return None
        out.append(question[last:])
        text = "".join(out).strip()
        return text[:1].upper() + text[1:]


def _replaceable(a: "Annotation", s: int, e: int) -> bool:
    """A frame's phrase a fragment may replace: not holding the question word or the main verb, and not most
    of the question."""
    toks = [t for t in a.tokens if s <= t.start < e]
    if any(t.tag in _WH_TAGS or t.dep == "ROOT" for t in toks):
        return False
    return (e - s) <= FRAME_SHARE * len(a.text)


def acceptable(proposal: str, question: str, history: Sequence[HistoryTurn]) -> bool:
    """A model's rewrite is kept only if it keeps every content word of the new turn and every word it adds
    is found in the history."""
    mine = content_terms(question)
    theirs = content_terms(proposal)
    known = mine | set().union(*(content_terms(f"{h.question} {h.answer}") for h in history))
    return bool(theirs) and mine <= theirs and theirs <= known


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
