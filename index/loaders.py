"""Read files into Documents. Each loader makes one plain text; offsets everywhere refer to it.

- text (.txt .md .markdown .text .rst): kept exactly as decoded.
- HTML (.html .htm): the visible text, block elements on their own lines.
- PDF (.pdf): the text of each page, pages joined by PAGE_SEPARATOR; `Document.pages` holds where each starts.
- Word (.docx): paragraphs and table rows in document order, one block each.

pypdf and python-docx are imported only when a PDF or .docx is read, so importing this module stays light."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

from index.documents import PAGE_BREAK, PAGE_SEPARATOR, Document
from index.errors import DocumentError, PathNotFound, UnsupportedFileType
from index.structure import document_format

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ".rst"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES

# Formats people often have instead of a supported one, and what to do about them.
_CONVERT_HINTS = {
    ".doc": " Open it in Word or LibreOffice and save it as .docx.",
    ".rtf": " Save it as .docx or .txt.",
    ".odt": " Save it as .docx (LibreOffice: File > Save As > Word).",
    ".xhtml": " Rename it to .html.",
}


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def supported_types() -> str:
    return ", ".join(sorted(SUPPORTED_SUFFIXES))


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus the supported files inside folders (recursively, sorted).

    Raises PathNotFound for a path that does not exist, before anything is read."""
    if not paths:
        raise PathNotFound("No path given. Pass one or more files or folders, e.g. `qa ingest seeds/`.")
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise PathNotFound(f"Path not found: {raw}. Check the spelling, or pass an existing file or folder.")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and supported(p) and not _hidden(p, path))
            files.extend(found)
        else:
            files.append(path)
    if not files:
        raise PathNotFound(
            f"No supported files under {', '.join(str(p) for p in paths)}. "
            f"Supported types: {supported_types()}."
        )
    return files


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def load(path: Path, source: str | None = None) -> Document:
    """Load one file. Raises UnsupportedFileType or DocumentError with a fix in the message."""
    if not supported(path):
        raise UnsupportedFileType(
            f"Cannot ingest {path}: '{path.suffix or 'no extension'}' files are not supported. "
            f"Supported types: {supported_types()}.{_CONVERT_HINTS.get(path.suffix.lower(), '')}"
        )
    return parse(path.read_bytes(), path, source)


def parse(data: bytes, path: Path, source: str | None = None) -> Document:
    """The Document in `data`, the bytes of the file `path` (also used to check uploads before saving them).
    The reader is chosen by the file's suffix; an unknown suffix is read as plain text."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return _parse_pdf(data, path, source)
    if suffix in DOCX_SUFFIXES:
        return _parse_docx(data, path, source)
    if suffix in HTML_SUFFIXES:
        return _parse_html(data, path, source)
    return _parse_text(data, path, source)


# --- plain text -------------------------------------------------------------------------------------------


def _parse_text(data: bytes, path: Path, source: str | None) -> Document:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"Cannot ingest {path}: it looks like a binary file, not text. Convert it to .txt or .md first.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"Cannot ingest {path}: it is not valid UTF-8 text (byte {exc.start}). Re-save it as UTF-8."
        ) from None
    if not text.strip():
        raise DocumentError(f"Cannot ingest {path}: the file is empty.")
    title = _title(text, path)
    fmt = document_format(path.name)
    return Document(text=text, source=source or str(path), title=title, metadata={"format": fmt})


# RST comments/targets and title rules, MyST "(label)=" targets
_NOT_TITLE = re.compile(r"\.\.(?:\s|$)|([=\-~^*+:_`'\"])\1{2,}$|\([\w:. -]+\)=$")


def _title(text: str, path: Path) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not _NOT_TITLE.match(line):
            return line[:120]
    return path.stem


# --- HTML -------------------------------------------------------------------------------------------------

# Elements whose content is never shown (head: everything but the title, which is read on its own).
_INVISIBLE = {"script", "style", "head", "template", "noscript", "svg", "math", "iframe", "object", "canvas",
              "select", "datalist"}
# Site chrome around a documentation page: navigation (menus, sidebars, the table of contents), search boxes and
# page footers are not the document (Sphinx's sidebar is <div role="navigation">; MkDocs' is <nav>); nor are
# the permalink marks a generator puts after each heading (<a class="headerlink">¶</a>).
_CHROME = {"nav", "footer"}
_CHROME_ROLES = {"navigation", "search", "contentinfo", "banner"}
_CHROME_CLASSES = {"headerlink", "sphinxsidebar", "related", "md-sidebar", "md-footer"}
# Block elements: a paragraph break around them. Line elements: a line break.
_BLOCKS = {
    "address", "article", "aside", "blockquote", "caption", "details", "dialog", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr",
    "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "ul", "body",
}
_LINES = {"br", "li", "dt", "dd", "tr", "option", "legend"}
_CELLS = {"td", "th"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_UNIT_KINDS = {"h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading", "h5": "heading", "h6": "heading",
               "p": "prose", "dt": "prose", "dd": "prose", "caption": "prose", "figcaption": "prose", "li": "list_item",
               "tr": "table_row", "pre": "code", "blockquote": "quote"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SPACES = re.compile(r"\s+")
_KEEP_SPACE, _KEEP_TAB = "\x01", "\x02"  # a space or tab inside <pre>, while the text is tidied
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


class _VisibleText(HTMLParser):
    """Collects the text a browser would show, with blocks as paragraphs and <br>/<li>/<tr> as lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip: list[str] = []  # the invisible element we are inside, and any of the same name nested in it
        self.pre = 0
        self.title: list[str] | None = None  # collecting <title> text while not None
        self.titles: list[str] = []
        self.heading: list[str] | None = None
        self.headings: list[str] = []
        self.cells = 0  # cells seen in the current table row
        self.events: list[tuple[int, bool, str]] = []  # (index in parts, opens?, tag) of the unit elements

    def handle_starttag(self, tag, attrs):
        if tag == "body" and self.skip and self.skip[0] == "head":  # <head> never closed
            self.skip.clear()
        if tag == "title" and self.skip in ([], ["head"]):  # not the <title> of an <svg>
            self.title = []
            return
        if self.skip:
            if tag == self.skip[0] and tag not in _VOID:
                self.skip.append(tag)
            return
        a = dict(attrs)
        if tag in _INVISIBLE or ("hidden" in a and tag not in _VOID) or tag in _CHROME \
                or a.get("role") in _CHROME_ROLES or _CHROME_CLASSES & set((a.get("class") or "").split()):
            self.skip.append(tag)
            return
        self._break(tag)
        if tag in _UNIT_KINDS:
            self.events.append((len(self.parts), True, tag))
        if tag == "tr":
            self.cells = 0
        elif tag in _CELLS:
            if self.cells:
                self.parts.append(" | ")
            self.cells += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self.parts.append(f" {alt.strip()} ")
        if tag in _HEADINGS:
            self.heading = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "title" and self.title is not None:
            self.titles.append("".join(self.title))
            self.title = None
            return
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in _HEADINGS and self.heading is not None:
            self.headings.append("".join(self.heading))
            self.heading = None
        if tag in _UNIT_KINDS:
            self.events.append((len(self.parts), False, tag))
        if tag != "br":  # </br> is read by browsers as <br>, handled at the start tag
            self._break(tag)

    def handle_data(self, data):
        if self.title is not None:
            self.title.append(data)
            return
        if self.skip:
            return
        if self.heading is not None:
            self.heading.append(data)
        data = data.replace(_KEEP_SPACE, "").replace(_KEEP_TAB, "")
        if self.pre:  # spacing kept: marked so that tidying the lines leaves it alone
            pre = data.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
            self.parts.append(pre.replace(" ", _KEEP_SPACE).replace("\t", _KEEP_TAB))
        else:
            self.parts.append(_SPACES.sub(" ", data))

    def _break(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "br" or (tag in _LINES and not self._at_line_start()):
            self.parts.append("\n")

    def _at_line_start(self) -> bool:
        for part in reversed(self.parts):
            if part.strip(" "):
                return part.rstrip(" ").endswith("\n")
        return True

    def text(self) -> str:
        return self.text_and_units()[0]

    def text_and_units(self) -> tuple[str, list]:
        """The visible text (lines stripped, at most one blank line in a row, no outer whitespace) and its
        units (index/structure.py): where each heading, paragraph, list item, row, <pre> and quote landed."""
        raw = "".join(self.parts)
        pieces: list[str] = []
        runs: list[tuple[int, int, int]] = []  # (start, end) in `raw` of each piece, and where it starts in `full`
        size, at = 0, 0
        last = ["", ""]  # the last two characters before collapsing blank lines
        for line in raw.split("\n"):
            a, b = at, at + len(line)
            while a < b and raw[a] in " \t\xa0":
                a += 1
            while b > a and raw[b - 1] in " \t\xa0":
                b -= 1
            if b > a:
                pieces.append(raw[a:b])
                runs.append((a, b, size))
                size += b - a
                last = [raw[b - 2] if b - a > 1 else last[1], raw[b - 1]]
            at += len(line) + 1
            if at <= len(raw):
                if last != ["\n", "\n"]:  # at most one blank line in a row
                    pieces.append("\n")
                    runs.append((at - 1, at, size))
                    size += 1
                last = [last[1], "\n"]
        full = "".join(pieces)
        lead = len(full) - len(full.lstrip())
        text = full.strip().replace(_KEEP_SPACE, " ").replace(_KEEP_TAB, "\t")
        return text, self._units(text, runs, lead, len(full))

    def _units(self, text: str, runs: list[tuple[int, int, int]], lead: int, full: int) -> list:
        from bisect import bisect_right

        from index.structure import SECTION_SEP, units_from_blocks

        ends = [r[1] for r in runs]

        def position(raw_at: int) -> int:  # where the first visible character at or after raw_at landed
            i = bisect_right(ends, raw_at)
            pos = full if i == len(runs) else runs[i][2] + max(0, raw_at - runs[i][0])
            return min(max(pos - lead, 0), len(text))

        offsets = [0]
        for part in self.parts:
            offsets.append(offsets[-1] + len(part))
        blocks, stack, sections = [], [], []
        cuts = self.events + [(len(self.parts), False, "")]
        at = 0
        for index, opens, tag in cuts:
            pos = position(offsets[index])
            kind = _UNIT_KINDS[stack[-1]] if stack else "prose"
            if pos > at and text[at:pos].strip():
                if kind == "heading":
                    level = int(stack[-1][1])
                    title = _SPACES.sub(" ", text[at:pos]).strip()
                    sections = [s for s in sections if s[0] < level] + [(level, title)]
                blocks.append((at, pos, kind, SECTION_SEP.join(t for _, t in sections)))
            at = pos
            if opens:
                stack.append(tag)
            elif tag in stack:
                del stack[len(stack) - 1 - stack[::-1].index(tag):]
        return units_from_blocks(text, blocks)


def _parse_html(data: bytes, path: Path, source: str | None) -> Document:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"Cannot ingest {path}: it looks like a binary file, not an HTML page. "
                            "Check that it is the page itself (open it in a browser), or save its text as .txt.")
    markup = _decode_html(data, path)
    parser = _VisibleText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception as exc:  # html.parser is lenient; anything it still rejects is a broken page
        raise DocumentError(f"Cannot ingest {path}: the HTML could not be read ({exc}). "
                            "Open it in a browser and save it again, or save its text as .txt.") from None
    text, units = parser.text_and_units()
    if not text:
        raise DocumentError(f"Cannot ingest {path}: the page has no visible text (is it built by JavaScript, "
                            "or only images?). Save the page as shown in a browser, or copy its text into a .txt file.")
    title = next((t for t in (_SPACES.sub(" ", t).strip() for t in parser.titles + parser.headings) if t), "")
    return Document(text=text, source=source or str(path), title=title[:120] or _title(text, path),
                    metadata={"format": "html", "units": units})


def _decode_html(data: bytes, path: Path) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    else:
        declared = _CHARSET.search(data[:4096])
        encodings = [declared.group(1).decode("ascii")] if declared else []
        encodings += [e for e in ("utf-8",) if e not in (x.lower() for x in encodings)]
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise DocumentError(f"Cannot ingest {path}: it is not valid {encodings[0]} text. "
                        "Re-save it as UTF-8 (or declare its encoding with <meta charset=...>).")


# --- PDF --------------------------------------------------------------------------------------------------


def _parse_pdf(data: bytes, path: Path, source: str | None) -> Document:
    import logging

    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"Cannot ingest {path}: it is not a PDF file (no %PDF- header). "
                            "Check that it is the right file, or give it its real extension.")
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # pypdf warns about every small repair it makes; the result is what counts
    try:
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not _decrypt(reader):
                raise DocumentError(f"Cannot ingest {path}: the PDF is password-protected. "
                                    "Save an unprotected copy (e.g. print it to PDF) and ingest that.")
            texts = [_page_text(page) for page in reader.pages]
        except DocumentError:
            raise
        except Exception as exc:
            raise DocumentError(f"Cannot ingest {path}: the PDF could not be read ({_reason(exc)}); it may be damaged "
                                "or incomplete. Download or export it again, or save its text as .txt.") from None
    finally:
        pypdf_log.setLevel(level)
    if not texts:
        raise DocumentError(f"Cannot ingest {path}: the PDF has no pages. Download or export it again.")
    if not any(t.strip() for t in texts):
        raise DocumentError(f"Cannot ingest {path}: it has no text layer (scanned?); run OCR first "
                            "(e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result.")
    starts, offset = [], 0
    for t in texts:
        starts.append(offset)
        offset += len(t) + len(PAGE_SEPARATOR)
    text = PAGE_SEPARATOR.join(texts)
    title = _pdf_title(reader) or _title(text, path)
    return Document(text=text, source=source or str(path), title=title, pages=tuple(starts))


def _decrypt(reader) -> bool:
    """Open a PDF that is encrypted with an empty user password (common: only printing/copying restricted)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _page_text(page) -> str:
    text = page.extract_text() or ""
    # A page break is only ever PAGE_SEPARATOR; trailing spaces on lines carry nothing.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(PAGE_BREAK, "\n").replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _pdf_title(reader) -> str:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:
        return ""
    title = _SPACES.sub(" ", str(title or "")).strip()
    # Producers often leave a file name or placeholder as the title; those say nothing.
    if not title or title.lower() in {"untitled", "untitled document"} or re.search(r"\.(pdf|docx?|tex)$", title, re.I):
        return ""
    return title[:120]


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


# --- Word -------------------------------------------------------------------------------------------------


def _parse_docx(data: bytes, path: Path, source: str | None) -> Document:
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(data))
        blocks, styles = [], []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = _table_rows(item)
                blocks.extend(rows)
                styles.extend(["table"] * len(rows))
            else:
                blocks.append(item.text)
                styles.append(_style_name(item))
        core_title = document.core_properties.title or ""
    except Exception as exc:
        hint = (" It looks like an older .doc file or another format renamed to .docx: open it in Word or "
                "LibreOffice and save it as .docx." if not data.startswith(b"PK") else
                " It may be damaged: open it in Word or LibreOffice and save it again.")
        raise DocumentError(f"Cannot ingest {path}: it could not be read as a Word document ({_reason(exc)}).{hint}") from None
    blocks = [b.strip().replace(PAGE_BREAK, "\n") for b in blocks]
    text = "\n\n".join(b for b in blocks if b)
    if not text:
        raise DocumentError(f"Cannot ingest {path}: the document has no text. "
                            "If it holds scanned pages as images, export it to PDF and run OCR first.")
    title = _SPACES.sub(" ", core_title).strip()[:120] or _title(text, path)
    return Document(text=text, source=source or str(path), title=title,
                    metadata={"format": "docx", "units": _docx_units(text, blocks, styles)})


def _style_name(paragraph) -> str:
    try:
        return paragraph.style.name or ""
    except Exception:  # a style the document references but does not define
        return ""


def _docx_units(text: str, blocks: list[str], styles: list[str]) -> list:
    """Units of a Word document: heading styles ("Heading 1", "Title") give the section path."""
    from index.structure import SECTION_SEP, units_from_blocks

    found, sections, at = [], [], 0
    for block, style in zip(blocks, styles):
        if not block:
            continue
        start, end = at, at + len(block)
        at = end + 2
        name = style.lower()
        heading = re.match(r"heading\s*(\d)", name)
        if heading or name == "title":
            level = int(heading.group(1)) if heading else 0
            sections = [x for x in sections if x[0] < level] + [(level, _SPACES.sub(" ", block).strip())]
            found.append((start, end, "heading", SECTION_SEP.join(t for _, t in sections)))
            continue
        section = SECTION_SEP.join(t for _, t in sections)
        if style == "table":
            row_start = start
            for row in block.split("\n"):
                found.append((row_start, row_start + len(row), "table_row", section))
                row_start += len(row) + 1
        else:
            found.append((start, end, "list_item" if "list" in name else "prose", section))
    return units_from_blocks(text, found)


def _table_rows(table) -> list[str]:
    """One line per row, cells separated by ' | ' (a merged cell counted once)."""
    rows = []
    for row in table.rows:
        cells, seen = [], []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):
                continue
            seen.append(cell._tc)
            cell_text = _SPACES.sub(" ", cell.text).strip()
            if cell_text:
                cells.append(cell_text)
        if cells:
            rows.append(" | ".join(cells))
    return ["\n".join(rows)] if rows else []
