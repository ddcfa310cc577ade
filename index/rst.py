"""reStructuredText structure: the units of a `.rst` file (Sphinx documentation), each an exact slice of the text.

RST is indentation-structured, so it is read line by line by its block rules (docutils' own parser rewrites
the text and reports unreliable line numbers, so it cannot give exact character offsets):

- section titles (underlined, optionally overlined) give section paths and are heading units;
- directives (`.. name:: argument`, options, indented body): a documented object (`.. py:data:: DEBUG`,
  `.. autofunction:: click.echo`) is a heading below the current section, its description read under it; code directives (`code-block`, `doctest`...) are
  one code unit; admonitions (`note`, `warning`, `versionchanged`...) are admonition sentences; navigation and
  media (`toctree`, `image`, `include`...) are skipped; any other directive (`function::`, `autoclass::`,
  an extension's `click:example::`) has its body read as RST, or as one code unit when its lines read as code;
- comments, hyperlink targets (`.. _name:`) and substitution definitions are skipped;
- a paragraph ending in `::` introduces an indented literal block: one code unit; `>>>` doctest blocks too;
- bullet, enumerated and field list items are list items (long ones split into sentences); grid and simple
  table rows are table rows; other indented paragraphs are block quotes; everything else is prose sentences.

Inline markup (``code``, :role:`target`) stays in the quoted text; section paths read it as plain words.
"""

from __future__ import annotations

import re

from index.structure import LONG_ITEM_CHARS, Unit, _path, _trim, prose_spans

CODE_DIRECTIVES = frozenset(
    "code code-block sourcecode highlight doctest testcode testoutput testsetup testcleanup literalinclude "
    "math productionlist parsed-literal prompt tab-code".split())
ADMONITIONS = frozenset(
    "note warning tip important caution attention danger error hint admonition seealso versionadded "
    "versionchanged deprecated versionremoved topic sidebar rubric".split())
SKIPPED = frozenset(
    "toctree image figure include contents index meta raw only tabularcolumns currentmodule module "
    "highlightlang default-role role sectionauthor codeauthor autosummary rst-class class title".split())

DOCUMENTED = frozenset(
    "function class method staticmethod classmethod attribute property data exception decorator envvar option "
    "cmdoption confval setting describe object program".split())
_DIRECTIVE = re.compile(r"\.\.[ \t]+([\w:.+-]+)[ \t]*::(?:[ \t]+(.*))?$")
_EXPLICIT = re.compile(r"\.\.(?:[ \t]|$)")
_RULE = re.compile(r"([=\-`:'\"~^_*+#<>.])\1{2,}[ \t]*$")
_BULLET = re.compile(r"(?:[-*+•‣⁃]|\d{1,9}[.)]|\(\d{1,9}\)|#\.|[a-zA-Z][.)])[ \t]+(?=\S)")
_FIELD = re.compile(r":[^:\s][^:]*:(?:[ \t]+|$)")
_OPTION = re.compile(r":[\w-]+:")
_CODE_CHARS = re.compile(r"[{}=;@<>$]|\w\(|^(?:>>>|\.\.\.|#|//)")
_ROLE = re.compile(r"(?::[\w:.+-]+:)?`+([^`]*?)(?:\s*<[^>]*>)?`+_{0,2}")


def _indent(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def plain_title(title: str) -> str:
    """A section title without inline markup (":func:`click.echo`" -> "click.echo")."""
    return re.sub(r"\s+", " ", _ROLE.sub(lambda m: m.group(1), title)).strip()


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        self.starts: list[int] = []
        at = 0
        for line in self.lines:
            self.starts.append(at)
            at += len(line) + 1
        self.units: list[Unit] = []
        self.styles: list[tuple[str, bool]] = []  # section title styles in order of first use (char, overlined)
        self.sections: list[tuple[int, str]] = []  # (level, title)
        self.block = 0

    # --- helpers
    def blank(self, k: int) -> bool:
        return not self.lines[k].strip()

    def end_of(self, k: int) -> int:
        return self.starts[k] + len(self.lines[k])

    def section(self) -> str:
        return _path(t for _, t in self.sections)

    def body_end(self, k: int, j: int, indent: int) -> int:
        """First line from k on (before j) that is not blank and indented no deeper than `indent`."""
        while k < j and (self.blank(k) or _indent(self.lines[k]) > indent):
            k += 1
        return k

    def add(self, s: int, e: int, kind: str, split: bool = False) -> None:
        s, e = _trim(self.text, s, e)
        if e <= s:
            return
        section = self.section()
        if split or (kind in ("list_item", "table_row") and e - s > LONG_ITEM_CHARS):
            self.units += [Unit(a, b, kind, section, self.block) for a, b in prose_spans(self.text, s, e)]
        else:
            self.units.append(Unit(s, e, kind, section, self.block))
        self.block += 1

    def code(self, a: int, b: int) -> None:
        """Lines a..b-1 as one code unit (trailing blank lines dropped)."""
        while b > a and self.blank(b - 1):
            b -= 1
        while a < b and self.blank(a):
            a += 1
        if b > a:
            self.add(self.starts[a], self.end_of(b - 1), "code")

    def heading(self, title_line: int, char: str, over: bool) -> None:
        style = (char, over)
        if style not in self.styles:
            self.styles.append(style)
        level = self.styles.index(style)
        s, e = _trim(self.text, self.starts[title_line], self.end_of(title_line))
        self.sections = [x for x in self.sections if x[0] < level] + [(level, plain_title(self.text[s:e]))]
        self.add(s, e, "heading")

    # --- blocks
    def read(self, i: int, j: int, kind: str = "prose") -> None:
        """Units of lines i..j-1; `kind` for paragraphs (prose, or admonition inside an admonition)."""
        k = i
        while k < j and self.blank(k):
            k += 1
        base = _indent(self.lines[k]) if k < j else 0
        while k < j:
            if self.blank(k):
                k += 1
                continue
            line = self.lines[k]
            ind = _indent(line)
            s = line.strip()
            # section title: overline + title + underline, or title + underline
            if _RULE.match(s) and k + 2 < j and not self.blank(k + 1) and _RULE.match(self.lines[k + 2].strip()) \
                    and self.lines[k + 2].strip()[0] == s[0] and ind == 0:
                self.heading(k + 1, s[0], True)
                k += 3
                continue
            if k + 1 < j and ind == 0 and not _RULE.match(s) and _RULE.match(self.lines[k + 1]) \
                    and len(self.lines[k + 1].strip()) >= min(len(s), 4):
                self.heading(k, self.lines[k + 1].strip()[0], False)
                k += 2
                continue
            if _RULE.match(s) and (k + 1 >= j or self.blank(k + 1)):  # transition, or a simple table's rule
                k += 1
                continue
            if _EXPLICIT.match(s):
                k = self.explicit(k, j, ind)
                continue
            if s.startswith(">>>"):  # doctest block: to the next blank line
                e = k
                while e < j and not self.blank(e):
                    e += 1
                self.code(k, e)
                k = e
                continue
            if s.startswith("+-") or (s.startswith("|") and k + 1 < j and self.lines[k + 1].strip().startswith(("+", "|"))):
                k = self.grid_table(k, j)
                continue
            if _RULE.match(s.replace(" ", "=")) and " " in s and s.startswith("="):
                k = self.simple_table(k, j)
                continue
            m = _BULLET.match(s) or _FIELD.match(s)
            if m:
                k = self.item(k, j, ind, m.end())
                continue
            k = self.paragraph(k, j, ind, kind, base)

    def paragraph(self, k: int, j: int, ind: int, kind: str, base: int) -> int:
        e = k + 1
        while e < j and not self.blank(e) and _indent(self.lines[e]) == ind and not _EXPLICIT.match(self.lines[e].strip()):
            e += 1
        if e < j and not self.blank(e) and _indent(self.lines[e]) > ind:  # a definition list: term, then definition
            self.add(self.starts[k], self.end_of(e - 1), "prose" if kind == "prose" else kind)
            end = self.body_end(e, j, ind)
            self.read(e, end, kind)
            return end
        literal = self.lines[e - 1].rstrip().endswith("::")
        para_kind = kind if ind <= base or kind != "prose" else "quote"
        if not (self.lines[k].strip() == "::"):  # a lone "::" only introduces the literal block
            self.add(self.starts[k], self.end_of(e - 1), para_kind, split=True)
        if literal:
            end = self.body_end(e, j, ind)
            self.code(e, end)
            return end
        return e

    def item(self, k: int, j: int, ind: int, mark: int) -> int:
        """A list or field list item: its first paragraph a list item unit, the rest of its body read as RST."""
        body_indent = ind + mark
        e = k + 1
        while e < j and not self.blank(e) and _indent(self.lines[e]) >= body_indent - 1 \
                and not (_indent(self.lines[e]) == ind and (_BULLET.match(self.lines[e].strip()) or _FIELD.match(self.lines[e].strip()))):
            e += 1
        s = self.starts[k] + ind + mark
        literal = self.lines[e - 1].rstrip().endswith("::")
        self.add(s, self.end_of(e - 1), "list_item")
        end = self.body_end(e, j, ind)
        if literal:
            self.code(e, end)
        else:
            self.read(e, end, "prose")
        return end

    def explicit(self, k: int, j: int, ind: int) -> int:
        """A directive, comment, hyperlink target or substitution definition starting at line k."""
        end = self.body_end(k + 1, j, ind)
        m = _DIRECTIVE.match(self.lines[k].strip())
        if not m:
            return end  # comment / target / substitution
        name = m.group(1).lower().split(":")[-1]
        body = k + 1
        while body < end and not self.blank(body) and _OPTION.match(self.lines[body].strip()):
            body += 1
        if (name in DOCUMENTED or m.group(1).lower().startswith(("auto", "py:", "js:", "c:", "cpp:", "std:", "rst:"))) \
                and name not in ADMONITIONS | CODE_DIRECTIVES | SKIPPED:
            self.documented(k, m.group(2) or "", body, end)
        elif name in CODE_DIRECTIVES:
            self.code(body, end)
        elif name in SKIPPED:
            pass
        elif name in ADMONITIONS:
            arg = m.group(2) or ""
            if (arg and name not in ("versionadded", "versionchanged", "deprecated", "versionremoved")) or \
                    len(arg.split()) > 1:  # a title or a one-line text ("deprecated:: 2.0 Use X.")
                a = self.starts[k] + self.lines[k].index(arg)
                self.add(a, a + len(arg), "admonition", split=True)
            self.read(body, end, "admonition")
        elif self.codelike(body, end):  # an extension's directive holding code (".. click:example::")
            self.code(body, end)
        else:
            self.read(body, end, "prose")
        return end

    def documented(self, k: int, arg: str, body: int, end: int) -> None:
        """A documented object (".. py:data:: SECRET_KEY", ".. autofunction:: click.echo"): its name is a heading
        below the current section, and its description is read under it."""
        saved = self.sections
        if arg.strip():
            a = self.starts[k] + self.lines[k].index(arg)
            level = (self.sections[-1][0] + 1) if self.sections else 0
            self.sections = saved + [(level, plain_title(arg))]
            self.add(a, a + len(arg), "heading")
        self.read(body, end, "prose")
        self.sections = saved

    def codelike(self, a: int, b: int) -> bool:
        """Most lines of a body read as code rather than words: text lines have three or more words and none of
        the characters code is written with."""
        lines = [self.lines[k].strip() for k in range(a, b) if not self.blank(k)]
        prose = sum(1 for ln in lines if len(ln.split()) >= 3 and not _CODE_CHARS.search(ln))
        return bool(lines) and prose < len(lines) / 2

    def grid_table(self, k: int, j: int) -> int:
        e = k
        while e < j and not self.blank(e):
            row = self.lines[e].strip()
            if row.startswith("|"):
                a = self.starts[e] + self.lines[e].index("|") + 1
                b = self.end_of(e)
                s, t = _trim(self.text, a, b)
                if t > s and self.text[t - 1] == "|":
                    t -= 1
                self.add(s, t, "table_row")
            e += 1
        return e

    def simple_table(self, k: int, j: int) -> int:
        rules, e = 0, k
        while e < j:
            row = self.lines[e].strip()
            if not row:
                if rules >= 3 or (e + 1 < j and self.blank(e + 1)):
                    break
            elif _RULE.match(row.replace(" ", "=")) and row.startswith("="):
                rules += 1
                if rules >= 3:
                    e += 1
                    break
            else:
                self.add(self.starts[e], self.end_of(e), "table_row")
            e += 1
        return e


def rst_units(text: str) -> list[Unit]:
    """The units of a reStructuredText document (see the module docstring), in order, never overlapping."""
    reader = _Reader(text)
    reader.read(0, len(reader.lines))
    out: list[Unit] = []
    for u in sorted(reader.units, key=lambda u: u.start):
        if out and u.start < out[-1].end:
            continue
        out.append(u)
    return out
