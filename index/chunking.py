"""Structure-aware chunking that keeps exact character offsets into the source text.

Chunks are made of a document's units (index/structure.py: sentences, list items, table rows, whole code
blocks, headings); `sentence_spans` is the plain sentence splitter (answers, passages without units)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from index.documents import Chunk, Document
from index.structure import Unit, document_units

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


def sentence_spans(text: str, offset: int = 0, units: Sequence = ()) -> list[Span]:
    """Spans of the sentences in `text`, trimmed of surrounding whitespace, in order.

    With `units` ((start, end, kind) relative to `text`, as a chunk stores them: index/structure.py) the spans
    are those units instead: a code block whole, a list item or table row as one sentence, headings left out."""
    if units:
        return [Span(s + offset, e + offset) for s, e, kind in units if kind != "heading" and 0 <= s < e <= len(text)]
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


SECTION_FILL = 0.25  # a new section starts a new chunk once the current one holds this share of the budget
SECTION_BREAK_FILL = 0.15  # a chunk that must end ends at its last heading if that leaves this share behind ...
BREAK_FILL = 0.5  # ... else at its last block (paragraph, list item) end if that leaves this share behind
_OVERLAP_KINDS = {"prose", "list_item", "quote", "admonition", "table_row"}


def chunk_document(doc: Document, max_chars: int = 700, overlap_sentences: int = 1) -> list[Chunk]:
    """Group a document's units (index/structure.py: sentences, list items, table rows, code blocks,
    headings) into chunks of at most `max_chars`. A chunk never cuts through a unit (a code block longer than
    the budget is split at line breaks; any other unit longer than the budget is a chunk of its own), prefers
    to end where a section or block ends, never ends with a heading, keeps a code block with the prose that
    introduces it, and repeats the last `overlap_sentences` sentences of the previous chunk of its section."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    units = document_units(doc)
    if not units and doc.text.strip():
        units = [Unit(s.start, s.end, "prose") for s in sentence_spans(doc.text)]
    pieces = _fit(doc.text, units, max_chars)
    chunks, doc_id = [], doc.id  # the id hashes the whole text: once
    groups = [g for g in _group(doc.text, pieces, max_chars, overlap_sentences) if any(u.kind != "heading" for u in g)]
    for i, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        chunks.append(
            Chunk(doc_id=doc_id, source=doc.source, text=doc.text[start:end], start=start, end=end, index=i, title=doc.title,
                  page=doc.page_at(start), section=group[0].section,
                  units=tuple((u.start - start, u.end - start, u.kind) for u in group))
        )
    return chunks


def _fit(text: str, units: list[Unit], max_chars: int) -> list[Unit]:
    """Code blocks longer than the budget split at line breaks into pieces that fit (a longer line alone)."""
    out: list[Unit] = []
    for u in units:
        if u.kind != "code" or u.end - u.start <= max_chars:
            out.append(u)
            continue
        at = u.start
        while at < u.end:
            stop = at
            while True:
                nl = text.find("\n", stop + 1, u.end)
                nxt = u.end if nl == -1 else nl
                if nxt - at > max_chars and stop > at:
                    break
                stop = nxt
                if nl == -1 or nxt - at > max_chars:
                    break
            s, e = at, stop
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                out.append(Unit(s, e, "code", u.section, u.block))
            at = stop + 1 if stop < u.end else u.end
    return out


def _group(text: str, units: list[Unit], max_chars: int, overlap: int) -> list[list[Unit]]:
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    for u in units:
        if current:
            size = current[-1].end - current[0].start
            over = u.end - current[0].start > max_chars
            if over or (u.kind == "heading" and size >= SECTION_FILL * max_chars):
                cut = len(current) if not over else _break_at(text, current, u, max_chars)
                head, tail = current[:cut], current[cut:]
                groups.append(head)
                keep: list[Unit] = []
                if overlap and not tail and u.kind != "heading":
                    keep = [x for x in head[-overlap:] if x.kind in _OVERLAP_KINDS and x.section == u.section]
                    # Never let the overlap alone push a chunk over its budget or repeat a whole chunk.
                    while keep and (u.end - keep[0].start > max_chars or len(keep) >= len(head)):
                        keep = keep[1:]
                current = keep + tail
                if current and u.end - current[0].start > max_chars:
                    groups.append(current)
                    current = []
        current.append(u)
    if current:
        groups.append(current)
    return groups


def _break_at(text: str, current: list[Unit], u: Unit, max_chars: int) -> int:
    """Where to end the chunk `current` that `u` does not fit into: the index of the first unit that moves on
    to the next chunk (len(current): none does)."""
    n = len(current)
    first = current[0].start

    def ok(j: int, fill: float) -> bool:  # current[:j] keeps enough, current[j:] + u fits the next chunk
        if not 0 < j <= n or current[j - 1].end - first < fill * max_chars:
            return False
        return j == n or u.end - current[j].start <= max_chars

    cut = n
    intro = current[-1].kind not in ("code", "heading") and (
        u.kind == "code" or (u.kind in ("list_item", "table_row") and text[current[-1].end - 1] == ":"))
    if intro and n > 1 and ok(n - 1, 0.0):
        cut = n - 1  # the prose that introduces a code block (or a list: "... are supported:") goes with it
    else:
        sections = [j for j in range(1, n) if current[j].kind == "heading" and ok(j, SECTION_BREAK_FILL)]
        blocks = [j for j in range(1, n) if current[j].block != current[j - 1].block and ok(j, BREAK_FILL)]
        if sections:
            cut = sections[-1]
        elif blocks and current[-1].block == u.block:
            cut = blocks[-1]  # do not cut a block (a paragraph) when an earlier block end leaves enough behind
    while 0 < cut - 1 and current[cut - 1].kind == "heading" and u.end - current[cut - 1].start <= max_chars:
        cut -= 1  # a chunk never ends with a heading
    return cut
