"""Sentence-aware chunking that keeps exact character offsets into the source text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.documents import Chunk, Document

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "u.n",
    "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "no", "fig", "gen", "gov", "sen", "rep", "col", "lt", "mt", "ft",
}
# A sentence ends at . ! ? (plus closing quotes or brackets) followed by whitespace, or at a blank line / newline.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*(?=\s)|\n")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """Spans of the sentences in `text`, trimmed of surrounding whitespace, in order."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group() != "\n" and _is_abbreviation(text, match.start()):
            continue
        _append(spans, text, start, end, offset)
        start = end
    _append(spans, text, start, len(text), offset)
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentence_spans(text)]


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot].lower()
    if word in _ABBREVIATIONS:
        return True
    # A single capital letter ("J. Smith") is an initial, not a sentence end.
    return len(word) == 1 and text[dot - 1].isupper()


def _append(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start + offset, end + offset))


def chunk_document(doc: Document, max_chars: int = 700, overlap_sentences: int = 1) -> list[Chunk]:
    """Group whole sentences into chunks of at most `max_chars` (a longer sentence is its own chunk),
    each chunk repeating the last `overlap_sentences` sentences of the previous one."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    spans = sentence_spans(doc.text)
    groups: list[list[Span]] = []
    current: list[Span] = []
    for span in spans:
        if current and span.end - current[0].start > max_chars:
            groups.append(current)
            keep = current[-overlap_sentences:] if overlap_sentences else []
            # Never let the overlap alone push a chunk over its budget or repeat a whole chunk.
            while keep and (span.end - keep[0].start > max_chars or len(keep) >= len(current)):
                keep = keep[1:]
            current = list(keep)
        current.append(span)
    if current:
        groups.append(current)
    chunks = []
    for i, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        chunks.append(
            Chunk(doc_id=doc.id, source=doc.source, text=doc.text[start:end], start=start, end=end, index=i, title=doc.title,
                  page=doc.page_at(start))
        )
    return chunks
