"""Document structure: the *units* of a document, each an exact slice of `Document.text`.

A unit is `(start, end, kind, section)`: `text[start:end]` is a heading, a prose sentence, a list item, a
table row, a whole code block, a sentence of an admonition (mkdocs `!!! note`) or of a block quote; `section`
is the path of the headings above it ("Middleware › CORSMiddleware"). Units never overlap and are in order.

- Markdown (.md .markdown): parsed with markdown-it-py (CommonMark + tables); its line maps are turned into
  character offsets of the raw file text, which stays the document's text. Headings only give section paths
  (they are units of their own, never part of a sentence); fenced and indented code blocks are one unit each;
  front matter and HTML blocks/comments are skipped; mkdocs admonitions and content tabs are read through;
  MyST directives (```{note}, :::{warning}) are read as Markdown (code directives stay code), labels skipped.
- HTML: the loader records where headings, paragraphs, list items, table rows, <pre> and <blockquote> fall in
  the visible text it builds and stores the units in `Document.metadata["units"]` (see index/loaders.py).
- Word (.docx): the loader stores paragraph units with sections from heading styles, the same way.
- reStructuredText (.rst): read by its block rules in index/rst.py (sections, directives, literal blocks, lists).
- Plain text and PDF: paragraphs (blank lines, page breaks) split into sentences; a line break inside a
  paragraph is not a sentence end ("... value is\\n50, and ..." is one sentence) unless the line looks like a
  heading or the next one starts a list.

`chunk_units` groups units into chunks (index/chunking.py uses it); `keyword_extra` and `embedding_text`
give the extra text (section path, identifiers split into words) that is indexed but never quoted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Iterable, Sequence

KINDS = ("heading", "prose", "list_item", "table_row", "code", "admonition", "quote")
_CODE = {"heading": "h", "prose": "p", "list_item": "l", "table_row": "t", "code": "c", "admonition": "a", "quote": "q"}
_KIND = {v: k for k, v in _CODE.items()}
SECTION_SEP = " › "
MARKDOWN_SUFFIXES = {".md", ".markdown"}
RST_SUFFIXES = {".rst", ".rest"}
HTML_SUFFIXES = {".html", ".htm"}
LONG_ITEM_CHARS = 300  # a list item or table row longer than this is split into sentences


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    kind: str
    section: str = ""
    block: int = 0  # the structural block (paragraph, list item, code block...) the unit belongs to


# --- sentences --------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)")
_LIST_MARK = re.compile(r"[ \t]*(?:[-*+•▪‣◦–]|\d{1,3}[.)]|[a-z][.)])[ \t]+\S")
_RULE_LINE = re.compile(r"[ \t]*([=\-~^\"'`#*+:_.])\1{2,}[ \t]*$")
_FUNCTION_WORDS = frozenset(
    "a an and are as at be by for from in into is of on or that the to was were with which who its their this "
    "these those than then when where whose if not no but".split())


def prose_spans(text: str, start: int, end: int, wrapped: bool = False) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]` (document offsets), trimmed. A line break is not a sentence end; with
    `wrapped` (plain text, PDF) one is where the line before looks like a heading or the next line starts a list."""
    from index.chunking import _is_abbreviation  # noqa: PLC0415 (one abbreviation list)

    cuts: list[int] = []
    for m in _SENTENCE_END.finditer(text, start, end):
        if not _is_abbreviation(text, m.start()):
            cuts.append(m.end())
    if wrapped:
        cuts.extend(_line_cuts(text, start, end))
    cuts = sorted(set(c for c in cuts if start < c < end))
    out: list[tuple[int, int]] = []
    at = start
    for c in cuts + [end]:
        s, e = _trim(text, at, c)
        if e > s:
            out.append((s, e))
        at = c
    return out


def _line_cuts(text: str, start: int, end: int) -> list[int]:
    cuts = []
    nl = text.find("\n", start, end)
    while nl != -1:
        line_start = text.rfind("\n", start, nl) + 1 if text.rfind("\n", start, nl) != -1 else start
        prev = text[line_start:nl].strip()
        nxt_end = text.find("\n", nl + 1, end)
        nxt = text[nl + 1 : nxt_end if nxt_end != -1 else end]
        # a line longer than any wrapped line is a paragraph of its own (one paragraph per line files)
        if _LIST_MARK.match(nxt) or (prev and (len(prev) > 130 or _heading_like(prev, nxt.strip()))):
            cuts.append(nl)
        nl = nxt_end
    return cuts


def _heading_like(prev: str, nxt: str) -> bool:
    """A short line without closing punctuation, not ending in a function word, before a capitalised line."""
    if not nxt or not nxt[0].isupper() or len(prev) > 60 or prev[-1] in ".,;:!?-–—(\"'“‘/&":
        return False
    last = prev.split()[-1].lower()
    return last not in _FUNCTION_WORDS and not last[-1:].isdigit()


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


# --- plain text and PDF -------------------------------------------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*(?:\f[ \t]*)?\n|\f")


def text_units(text: str) -> list[Unit]:
    """Paragraphs (split at blank lines and page breaks) as sentences that may run across line breaks.
    reStructuredText-style underlined headings give sections."""
    units: list[Unit] = []
    sections: list[tuple[str, str]] = []  # (underline character, title)
    at, block = 0, 0
    breaks = [(m.start(), m.end()) for m in _PARAGRAPH_BREAK.finditer(text)] + [(len(text), len(text))]
    for b_start, b_end in breaks:
        lines = _lines(text, at, b_start)
        piece_start = None
        i = 0
        while i < len(lines):
            ls, le = lines[i]
            rule = _RULE_LINE.match(text, ls, le) if le - ls >= 3 else None
            under = (rule and i > 0 and text[lines[i - 1][0]:lines[i - 1][1]].strip()
                     and not _RULE_LINE.match(text, lines[i - 1][0], lines[i - 1][1]))
            if rule and under and piece_start is not None:
                # the line before is a heading: flush what came before it, then record it
                hs, he = _trim(text, lines[i - 1][0], lines[i - 1][1])
                if piece_start < lines[i - 1][0]:
                    units += _prose_units(text, piece_start, lines[i - 1][0], sections, block)
                    block += 1
                char = rule.group(1)
                level = next((k for k, (c, _) in enumerate(sections) if c == char), len(sections))
                sections = sections[:level] + [(char, text[hs:he])]
                units.append(Unit(hs, he, "heading", _path(t for _, t in sections), block))
                block += 1
                piece_start = None
            elif rule:
                if piece_start is not None:
                    units += _prose_units(text, piece_start, ls, sections, block)
                    block += 1
                piece_start = None
            elif piece_start is None and text[ls:le].strip():
                piece_start = ls
            i += 1
        if piece_start is not None:
            units += _prose_units(text, piece_start, b_start, sections, block)
            block += 1
        at = b_end
    return units


def _prose_units(text: str, s: int, e: int, sections: list[tuple[str, str]], block: int) -> list[Unit]:
    section = _path(t for _, t in sections)
    return [Unit(a, b, "list_item" if _LIST_MARK.match(text, a) else "prose", section, block)
            for a, b in prose_spans(text, s, e, wrapped=True)]


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, at = [], start
    while at < end:
        nl = text.find("\n", at, end)
        stop = end if nl == -1 else nl
        out.append((at, stop))
        at = stop + 1
    return out


def _path(titles: Iterable[str]) -> str:
    return SECTION_SEP.join(t for t in titles if t)


# --- Markdown ---------------------------------------------------------------------------------------------

_CONTAINER = re.compile(r"^([ \t]*)(?:(!!!|\?\?\?\+?)[ \t]*([\w-]+)|(===\+?)[ \t]+[\"'])")
_DIRECTIVE = re.compile(r"([ \t]*):::[ \t]+\S")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ITEM_MARK = re.compile(r"[ \t]*(?:>[ \t]?|(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)|\[[ xX]\][ \t]+)*")
_QUOTE_MARK = re.compile(r"[ \t]*(?:>[ \t]?)*")
_HEADING_MARK = re.compile(r"[ \t]*(?:#{1,6}(?=[ \t]|$))?[ \t]*")  # ATX marks; none for a setext heading
_HEADING_TAIL = re.compile(r"[ \t]+#+[ \t]*$|[ \t]*$")
_PARSER = None


def _markdown_parser():
    global _PARSER
    if _PARSER is None:
        from markdown_it import MarkdownIt

        _PARSER = MarkdownIt("commonmark").enable("table")
    return _PARSER


def markdown_units(text: str) -> list[Unit]:
    lines = text.split("\n")
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    rst: list[tuple[int, int]] = []  # line ranges of MyST {eval-rst} bodies
    code_start: dict[int, int] = {}  # MyST code directives: opening fence line -> first line of code
    plain, admonition = _prepare_markdown(text, lines, rst, code_start)
    tokens = _markdown_parser().parse(plain)
    units: list[Unit] = []
    sections: list[tuple[int, str]] = []
    containers: list[tuple[str, int]] = []
    block = 0

    def line_end(i: int) -> int:
        return starts[i] + len(lines[i])

    for i, tok in enumerate(tokens):
        t = tok.type
        if t in ("list_item_open", "blockquote_open"):
            containers.append((t, tok.map[0] if tok.map else -1))
        elif t in ("list_item_close", "blockquote_close"):
            if containers:
                containers.pop()
        elif t == "heading_open" and tok.map:
            title = _inline_text(tokens[i + 1]) if i + 1 < len(tokens) else ""
            level = int(tok.tag[1:])
            sections = [s for s in sections if s[0] < level] + [(level, title)]
            a = tok.map[0]
            s = starts[a] + _HEADING_MARK.match(lines[a]).end()
            e = line_end(a)
            tail = _HEADING_TAIL.search(text, s, e)
            e = tail.start() if tail else e
            s, e = _trim(text, s, e)
            if e > s:
                units.append(Unit(s, e, "heading", _path(t for _, t in sections), block))
                block += 1
        elif t == "paragraph_open" and tok.map:
            a, b = tok.map
            kind = "prose"
            if containers:
                kind = "list_item" if containers[-1][0] == "list_item_open" else "quote"
            elif a in admonition:
                kind = "admonition"
            s = starts[a]
            if containers:
                s += (_ITEM_MARK if kind == "list_item" else _QUOTE_MARK).match(lines[a]).end()
            s, e = _trim(text, s, line_end(b - 1))
            if e <= s:
                continue
            section = _path(t for _, t in sections)
            if kind in ("list_item",) and e - s <= LONG_ITEM_CHARS:
                units.append(Unit(s, e, kind, section, block))
            else:
                units += [Unit(x, y, kind, section, block) for x, y in prose_spans(text, s, e)]
            block += 1
        elif t in ("fence", "code_block") and tok.map:
            a, b = tok.map
            if t == "fence":
                a = code_start.get(a, a + 1)
                fence = tok.markup
                if b - 1 >= a and lines[b - 1].strip().startswith(fence[:3]) and b - 1 > tok.map[0]:
                    b -= 1
            if b <= a:
                continue
            s, e = _trim(text, starts[a], line_end(b - 1))
            if e > s:
                units.append(Unit(s, e, "code", _path(t for _, t in sections), block))
                block += 1
        elif t == "tr_open" and tok.map:
            a = tok.map[0]
            s, e = _trim(text, starts[a], line_end(a))
            if s < e and text[s] == "|":
                s, e = _trim(text, s + 1, e)
            if s < e and text[e - 1] == "|" and (e < 2 or text[e - 2] != "\\"):
                s, e = _trim(text, s, e - 1)
            if e > s:
                units.append(Unit(s, e, "table_row", _path(t for _, t in sections), block))
                block += 1
    if rst:
        from index.rst import rst_units  # noqa: PLC0415

        markdown = sorted(units, key=lambda u: u.start)
        for a, b in rst:
            if b <= a:
                continue
            base, stop = starts[a], line_end(b - 1)
            outer = next((u.section for u in reversed(markdown) if u.start < base), "")
            for u in rst_units(text[base:stop]):
                section = SECTION_SEP.join(x for x in (outer, u.section) if x)
                units.append(Unit(u.start + base, u.end + base, u.kind, section, block + u.block))
            block += len(units)
    units.sort(key=lambda u: u.start)
    return _no_overlap(units)


def _prepare_markdown(text: str, lines: list[str], rst: list[tuple[int, int]],
                      code_start: dict[int, int]) -> tuple[str, set[int]]:
    """The text markdown-it reads: the same lines (offsets come from line numbers), with front matter and
    HTML comments blanked and mkdocs admonitions / content tabs dedented so that their bodies parse as
    Markdown. Returns it and the line numbers inside admonitions."""
    plain = [ln.replace("\r", " ") for ln in lines]  # a lone \r would be a line break to markdown-it
    if plain and plain[0].strip() == "---":
        for j in range(1, min(len(plain), 200)):
            if plain[j].strip() in ("---", "..."):
                for k in range(j + 1):
                    plain[k] = ""
                break
    joined = "\n".join(plain)
    if "<!--" in joined:
        joined = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), joined)
        plain = joined.split("\n")
    admonition: set[int] = set()
    _myst(plain, admonition, rst, code_start)
    for i, line in enumerate(plain):  # mkdocstrings directives ("::: package.Class" and its indented options)
        m = _DIRECTIVE.match(line)
        if m:
            indent = len(m.group(1).expandtabs(4))
            plain[i] = ""
            for j in range(i + 1, len(plain)):
                body = plain[j]
                if body.strip() and len(body[: len(body) - len(body.lstrip())].expandtabs(4)) <= indent:
                    break
                plain[j] = ""
    for _ in range(4):  # nested containers come out one level per pass
        changed = False
        fence = None
        i = 0
        while i < len(plain):
            line = plain[i]
            stripped = line.lstrip()
            if stripped.startswith(("```", "~~~")):
                marker = stripped[:3]
                fence = None if fence == marker else (fence or marker)
            m = _CONTAINER.match(line) if fence is None else None
            if not m:
                i += 1
                continue
            indent = len(m.group(1).expandtabs(4))
            plain[i] = ""
            changed = True
            j = i + 1
            while j < len(plain):
                body = plain[j]
                if body.strip() and len(body) - len(body.lstrip()) <= indent and \
                        len(body[: len(body) - len(body.lstrip())].expandtabs(4)) <= indent:
                    break
                plain[j] = _dedent(body, indent + 4)
                if m.group(2):
                    admonition.add(j)
                j += 1
            i = j
        if not changed:
            break
    return "\n".join(plain), admonition


_MYST_FENCE = re.compile(r"([ \t]*)(`{3,}|~{3,}|:{3,})[ \t]*\{([\w:.+-]+)\}")
_PLAIN_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")
_MYST_LINE = re.compile(r"[ \t]*(?:\([\w:. -]+\)=[ \t]*$|%(?:[ \t]|$)|\+\+\+[ \t]*$)")  # (target)= labels, % comments, +++ breaks
_MYST_OPTION = re.compile(r"[ \t]*:[\w-]+:")


def _closes(line: str, mark: str) -> bool:
    """Whether `line` closes a fence opened with `mark` (the same character, at least as many of it)."""
    return re.fullmatch(rf"[ \t]*{re.escape(mark[0])}{{{len(mark)},}}[ \t]*", line) is not None


def _past_fence(plain: list[str], i: int, mark: str) -> int:
    """The line after the one (from line i on) that closes the fence opened with `mark`."""
    while i < len(plain) and not _closes(plain[i], mark):
        i += 1
    return i + 1


def _myst(plain: list[str], admonition: set[int], rst: list[tuple[int, int]], code_start: dict[int, int]) -> None:
    """MyST (Sphinx Markdown) in place: a directive fence (```{note} / :::{warning}) that is not code loses its
    fence and option lines so that its body parses as Markdown (an admonition's body marked in `admonition`;
    navigation such as {toctree} blanked whole; an {eval-rst} body blanked and its line range added to `rst`, to be
    read as reStructuredText); code directives ({code-block}) stay fenced code, their code starting after their
    option lines (`code_start`: opening line -> first code line). Target labels
    "(name)=", "%" comment lines and "+++" breaks are blanked."""
    from index.rst import ADMONITIONS, CODE_DIRECTIVES, SKIPPED  # noqa: PLC0415 (the same directive names as RST)

    i = 0
    while i < len(plain):
        line = plain[i]
        if _MYST_LINE.match(line):
            plain[i] = ""
            i += 1
            continue
        m = _MYST_FENCE.match(line)
        plain_fence = None if m else _PLAIN_FENCE.match(line)
        if plain_fence:  # ordinary code: skip to its closing fence
            i = _past_fence(plain, i + 1, plain_fence.group(1))
            continue
        if not m:
            i += 1
            continue
        name = m.group(3).lower().split(":")[-1]
        if name in CODE_DIRECTIVES and m.group(2)[0] != ":":  # stays a fence; its code starts after the options
            mark, k = m.group(2), i + 1
            while k < len(plain) and _MYST_OPTION.match(plain[k]):
                k += 1
            if k > i + 1:
                code_start[i] = k + (k < len(plain) and not plain[k].strip())
            i = _past_fence(plain, k, mark)
            continue
        mark = m.group(2)
        j, inner = i + 1, None
        while j < len(plain):  # the closing fence, past nested code fences
            if inner:
                if _closes(plain[j], inner):
                    inner = None
            elif _closes(plain[j], mark):
                break
            else:
                f = _PLAIN_FENCE.match(plain[j])
                if f and not _MYST_FENCE.match(plain[j]) and (mark[0] == ":" or len(f.group(1)) < len(mark)):
                    inner = f.group(1)
            j += 1
        plain[i] = ""
        k = i + 1
        if k < j and plain[k].strip() == "---":  # YAML options block
            end = next((x for x in range(k + 1, j) if plain[x].strip() == "---"), k)
            for x in range(k, end + 1):
                plain[x] = ""
            k = end + 1
        while k < j and _MYST_OPTION.match(plain[k]):
            plain[k] = ""
            k += 1
        if name in SKIPPED or name == "eval-rst":
            if name == "eval-rst":
                rst.append((k, j))
            for x in range(k, j):
                plain[x] = ""
        elif name in ADMONITIONS:
            admonition.update(range(k, j))
        if j < len(plain):
            plain[j] = ""
        i += 1  # nested directives in the body are read on the following lines


def _dedent(line: str, width: int) -> str:
    cut = 0
    col = 0
    while cut < len(line) and col < width and line[cut] in " \t":
        col = col + 4 - col % 4 if line[cut] == "\t" else col + 1
        cut += 1
    return line[cut:]


def _inline_text(tok) -> str:
    parts: list[str] = []
    for child in tok.children or []:
        if child.type == "code_inline" and parts:  # a MyST role: {func}`name` reads as name
            parts[-1] = re.sub(r"\{[\w:.+-]+\}$", "", parts[-1])
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _no_overlap(units: list[Unit]) -> list[Unit]:
    out: list[Unit] = []
    for u in units:
        if out and u.start < out[-1].end:
            continue
        out.append(u)
    return out


# --- dispatch ---------------------------------------------------------------------------------------------


def document_format(source: str, metadata: dict | None = None) -> str:
    fmt = (metadata or {}).get("format")
    if fmt:
        return fmt
    suffix = PurePath(source or "").suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in RST_SUFFIXES:
        return "rst"
    return "text"


def units(text: str, fmt: str = "text") -> list[Unit]:
    """The units of a document's text in the format `fmt` ("markdown", "rst" or "text"; HTML and Word documents
    carry theirs from the loader)."""
    if fmt == "rst":
        from index.rst import rst_units  # noqa: PLC0415 (index.rst builds on this module)

        return rst_units(text)
    if fmt == "markdown":
        try:
            return markdown_units(text)
        except ImportError:
            pass
    return text_units(text)


def document_units(doc) -> list[Unit]:
    stored = doc.metadata.get("units") if doc.metadata else None
    if stored is not None:
        return [u if isinstance(u, Unit) else Unit(*u) for u in stored]
    return units(doc.text, document_format(doc.source, doc.metadata))


def units_from_blocks(text: str, blocks: Sequence[tuple[int, int, str, str]]) -> list[Unit]:
    """Sentence-level units from structural blocks (start, end, kind, section) found by a loader: prose-like
    blocks are split into sentences, code kept whole, long list items and rows split into sentences."""
    out: list[Unit] = []
    for n, (s, e, kind, section) in enumerate(blocks):
        s, e = _trim(text, s, e)
        if e <= s:
            continue
        if kind in ("heading", "code") or (kind in ("list_item", "table_row") and e - s <= LONG_ITEM_CHARS):
            out.append(Unit(s, e, kind, section, n))
        else:
            out += [Unit(a, b, kind, section, n) for a, b in prose_spans(text, s, e, wrapped=kind == "prose")]
    return _no_overlap(sorted(out, key=lambda u: u.start))


# --- compact per-chunk form -------------------------------------------------------------------------------


def encode_units(items: Sequence[tuple[int, int, str]], base: int) -> str:
    """Units as compact JSON: [[start, end, kind letter], ...] relative to `base` (a chunk's start)."""
    return json.dumps([[s - base, e - base, _CODE.get(k, "p")] for s, e, k in items], separators=(",", ":"))


def decode_units(data) -> tuple[tuple[int, int, str], ...]:
    """(start, end, kind) relative to the chunk, from `encode_units` output (or an already decoded list)."""
    if not data:
        return ()
    try:
        items = json.loads(data) if isinstance(data, str) else data
        return tuple((int(s), int(e), _KIND.get(k, k)) for s, e, k in items)
    except (ValueError, TypeError):
        return ()


# --- indexed (not quoted) text ----------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][\w]*(?:[.=:/-][\w]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def identifier_words(text: str) -> list[str]:
    """Identifiers of `text` split into words: `follow_redirects=True` -> "follow redirects true",
    `httpx.Client` -> "httpx client", `CORSMiddleware` -> "cors middleware" (only identifiers that split)."""
    out: list[str] = []
    seen: set[str] = set()
    for m in _IDENTIFIER.finditer(text):
        ident = m.group()
        if not re.search(r"[_.=:/-]|[a-z][A-Z]|[A-Z]{2}[a-z]", ident):
            continue
        words = [w.lower() for part in re.split(r"[^A-Za-z0-9]+", ident) for w in _CAMEL.findall(part)]
        phrase = " ".join(words)
        if len(words) > 1 and phrase not in seen:
            seen.add(phrase)
            out.append(phrase)
    return out


def keyword_extra(section: str, text: str) -> str:
    """What the keyword index holds besides a chunk's text: its section path and its identifiers in words."""
    parts = [section] if section else []
    parts += identifier_words(text)
    return "\n".join(parts)


def embedding_text(section: str, text: str) -> str:
    """The text embedded for a chunk: its section path, then its text."""
    return f"{section}\n{text}" if section else text
