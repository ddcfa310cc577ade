"""The nouns of the indexing layer. Ids are content hashes."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field

from index.structure import decode_units, encode_units

# Between the pages of a paged document (PDF): a form feed on a line of its own. Sentences never cross
# it (chunking splits at newlines), and a quote's page is its passage's page plus the breaks before it.
PAGE_BREAK = "\f"
PAGE_SEPARATOR = "\n" + PAGE_BREAK + "\n"


def content_hash(*parts: str, length: int = 16) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Document:
    """A document's text exactly as the loader read it. Offsets everywhere refer to `text`."""

    text: str
    source: str
    title: str = ""
    metadata: dict = field(default_factory=dict, compare=False)
    pages: tuple[int, ...] = field(default=(), compare=False)  # start offset of each page (paged formats only)

    @property
    def id(self) -> str:
        return content_hash(self.text)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding `offset`, or None for a document without pages."""
        if not self.pages:
            return None
        return max(1, bisect_right(self.pages, offset))


@dataclass(frozen=True)
class Chunk:
    """A slice of a document: `text == document.text[start:end]`, always."""

    doc_id: str
    source: str
    text: str
    start: int
    end: int
    index: int = 0
    title: str = ""
    page: int | None = None  # page where the chunk starts (paged formats only); not part of the id
    section: str = ""  # the section path ("Middleware › CORSMiddleware") of its first unit; "" when none
    units: tuple = ()  # (start, end, kind) of its units (index/structure.py), relative to `start`

    @property
    def id(self) -> str:
        return content_hash(self.doc_id, self.source, str(self.start), str(self.end))

    def metadata(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "index": self.index,
            **({"page": self.page} if self.page is not None else {}),  # stores cannot hold None values
            **({"section": self.section} if self.section else {}),
            **({"units": encode_units(self.units, 0)} if self.units else {}),  # compact JSON (stores hold scalars)
        }

    @classmethod
    def from_metadata(cls, text: str, meta: dict) -> "Chunk":
        """The chunk that `metadata()` described, with its text (as the stores keep them)."""
        return cls(
            doc_id=meta["doc_id"], source=meta["source"], text=text, start=int(meta["start"]), end=int(meta["end"]),
            index=int(meta.get("index", 0)), title=meta.get("title", ""),
            page=int(meta["page"]) if meta.get("page") is not None else None,
            section=meta.get("section") or "", units=decode_units(meta.get("units")),
        )
