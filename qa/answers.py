"""Result dataclasses of the question-answering layer and the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Sequence

from index.documents import PAGE_BREAK, content_hash

if TYPE_CHECKING:
    from qa.trace import Trace


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, numbered `n` (1-based) in the order shown to the generator."""

    n: int
    chunk_id: str
    doc_id: str
    source: str
    text: str
    start: int  # offset of `text` in its document
    end: int
    score: float
    title: str = ""
    page: int | None = None  # page where `text` starts (paged documents such as PDFs), else None
    section: str = ""  # section path of the chunk ("Middleware › CORSMiddleware"); "" when none
    units: tuple = ()  # (start, end, kind) of the chunk's units relative to `text` (index/structure.py); () if unknown
    # the retrieval scores behind it: {"dense": cosine, "bm25": score or None, "fused": score or None} (for traces)
    scores: dict = field(default_factory=dict, compare=False, hash=False)

    def page_at(self, offset: int) -> int | None:
        """The page of document offset `offset` inside this passage: its first page plus the page breaks before it."""
        if self.page is None:
            return None
        return self.page + self.text[: max(0, offset - self.start)].count(PAGE_BREAK)


def append_new(passages: list[Passage], found: Sequence[Passage], limit: int | None = None) -> tuple[int, ...]:
    """Append to `passages` those of `found` it does not hold yet (by chunk id; at most `limit`), numbered after
    it; returns their numbers. How every later retrieval (a hop, a comparison's side, a conversation's earlier
    quotes) joins the first one."""
    seen = {p.chunk_id for p in passages}
    added: list[int] = []
    for p in found:
        if p.chunk_id not in seen and (limit is None or len(added) < limit):
            seen.add(p.chunk_id)
            passages.append(replace(p, n=len(passages) + 1))
            added.append(len(passages))
    return tuple(added)


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    chunk_id: str
    quote: str  # == document_text[start:end]
    start: int
    end: int
    doc_id: str = ""
    passage: int = 0  # which retrieved passage this quote is from (1-based)
    page: int | None = None  # page where the quote starts (paged documents such as PDFs), else None
    section: str = ""  # section path of the quoted passage; "" when none (null in JSON)

    def to_dict(self) -> dict:
        return {
            "n": self.n, "source": self.source, "chunk_id": self.chunk_id, "quote": self.quote,
            "start": self.start, "end": self.end, "doc_id": self.doc_id, "page": self.page,
            "section": self.section or None,
        }


@dataclass(frozen=True)
class SentenceReport:
    text: str
    citations: list[int]
    support: float
    supported: bool
    relevant: bool = True  # whether it addresses the question (supported but off-topic sentences are left out)
    reason: str = ""  # "supported" or why not (qa.relations.REASONS: "role_mismatch", "negation", "not_found", ...)

    def to_dict(self) -> dict:
        return {"text": self.text, "citations": list(self.citations), "support": round(self.support, 4),
                "supported": self.supported, "relevant": self.relevant, "reason": self.reason}


@dataclass(frozen=True)
class ClaimCheck:
    """The verifier's verdict on one claim against given passages (`Service.check_claim`)."""

    claim: str
    supported: bool
    support: float  # the similarity prior, 0..1
    reason: str  # "supported" or why not (e.g. "not_found", "role_mismatch", "negation", "number_mismatch")
    quote: str | None = None  # the passage text that supports it best

    def to_dict(self) -> dict:
        return {"claim": self.claim, "supported": self.supported, "support": round(self.support, 4),
                "reason": self.reason, "quote": self.quote}


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    generator: str
    timings_ms: dict[str, float]
    grounding: float = 0.0
    sentences: list[SentenceReport] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    collection: str = "default"
    raw_answer: str = ""  # what the generator wrote, before verification
    fallback: str | None = None  # set when the service replaced the generator's answer (e.g. "extractive")
    answerability: float = 0.0  # the refusal model's probability that the passages answer the question
    refusal_reason: str | None = None  # why it refused (a code documented in qa/decisions.py), None when answered
    short_answer: str | None = None  # the answer's phrase from a cited quote ("against it", "Yes"), None if none
    hops: list[dict] = field(default_factory=list)  # retrievals made: [{"query", "bridge", "passages"}], first one first
    answer_id: str = ""  # content hash of the question, collection, generator, answer and quotes (set when empty)
    trace: "Trace | None" = field(default=None, repr=False, compare=False)  # qa/trace.py; only when asked for
    standalone_question: str | None = None  # in a conversation: the turn rewritten to stand alone (what was searched)
    conversation_id: str | None = None  # the conversation the turn belongs to; None for a single question
    disagreement: bool = False  # the sources tell the asked fact otherwise: the answer cites both (qa/disagreement.py)

    def __post_init__(self) -> None:
        if not self.answer_id:
            self.answer_id = content_hash(self.collection, self.question, self.generator, self.answer,
                                          *(f"{c.chunk_id}:{c.start}:{c.end}" for c in self.citations))

    def to_dict(self) -> dict:
        out = {
            "answer_id": self.answer_id,
            "question": self.question,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "generator": self.generator,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "grounding": round(self.grounding, 4),
            "sentences": [s.to_dict() for s in self.sentences],
            "collection": self.collection,
            "raw_answer": self.raw_answer,
            "fallback": self.fallback,
            "answerability": round(self.answerability, 4),
            "refusal_reason": self.refusal_reason,
            "hops": list(self.hops),
            "standalone_question": self.standalone_question,
            "conversation_id": self.conversation_id,
            "disagreement": self.disagreement,
        }
        if self.trace is not None:  # only when asked for (`qa ask --trace`, "trace": true)
            out["trace"] = self.trace.to_dict()
        return out

    def lead_text(self) -> str:
        """The answer led by its short answer (what chat clients show as the message content)."""
        return f"{self.short_answer}\n\n{self.answer}" if self.short_answer else self.answer

    def to_text(self) -> str:
        lines = [f"Answer: {self.short_answer}", ""] if self.short_answer else []
        lines.append(self.answer)
        if self.citations:
            lines.append("")
            lines.append("Sources:")
            for c in self.citations:
                where = f"p. {c.page}, " if c.page is not None else ""
                lines.append(f"[{c.n}] {c.source} ({where}chars {c.start}-{c.end})")
                lines.append(f'    "{c.quote}"')
        return "\n".join(lines)
