"""Ingestion: load every file first, then chunk, embed and store. A file that cannot be read
stops the batch before anything is written, so a failed ingest leaves the index as it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from index.chunking import chunk_document
from index.documents import Document
from index.embeddings import Embedder
from index.loaders import expand_paths, load
from index.store import Store, check_collection_name


@dataclass
class IngestReport:
    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    chunks: int = 0
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "collection": self.collection, "added": self.added, "updated": self.updated,
            "unchanged": self.unchanged, "removed": self.removed, "failed": self.failed,
            "chunks": self.chunks, "sources": list(self.sources),
        }


class Indexer:
    def __init__(self, embedder: Embedder, store: Store, chunk_chars: int = 700, overlap_sentences: int = 1):
        self.embedder = embedder
        self.store = store
        self.chunk_chars = chunk_chars
        self.overlap_sentences = overlap_sentences

    def ingest(
        self, paths: Sequence[str | Path], collection: str = "default",
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        check_collection_name(collection)
        files = expand_paths(list(paths))
        docs = [load(f) for f in files]  # raises before anything is written
        return self.ingest_documents(docs, collection, progress)

    def ingest_documents(
        self, docs: Sequence[Document], collection: str = "default",
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        check_collection_name(collection)
        report = IngestReport(collection=collection)
        fingerprint = self.embedder.fingerprint
        for i, doc in enumerate(docs):
            existing = self.store.chunk_ids_by_source(collection, doc.source)
            if existing and set(existing.values()) == {doc.id}:
                report.unchanged += 1
            else:
                chunks = chunk_document(doc, self.chunk_chars, self.overlap_sentences)
                vectors = self.embedder.embed([c.text for c in chunks])
                self.store.upsert(collection, fingerprint, chunks, vectors)
                stale = [cid for cid, did in existing.items() if did != doc.id]
                self.store.delete_chunks(collection, stale)
                report.chunks += len(chunks)
                if existing:
                    report.updated += 1
                else:
                    report.added += 1
            report.sources.append(doc.source)
            if progress:
                progress(i + 1, len(docs), doc.source)
        return report
