"""The nouns of the indexing layer. Ids are content hashes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


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

    @property
    def id(self) -> str:
        return content_hash(self.text)


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
        }
