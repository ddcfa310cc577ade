"""Ingestion: load every file first, then chunk, embed and store. A file that cannot be read
stops the batch before anything is written, so a failed ingest leaves the index as it was."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from index.chunking import chunk_document
from index.documents import Chunk, Document
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
        """Two phases. Chunk and embed every changed document first, without holding anything, so
        questions keep running during the slow part; then write them all under the store's write
        lock, so a question sees the collection before this ingest or after it, never half of it."""
        check_collection_name(collection)
        prepared: list[tuple[Document, list[Chunk], list[list[float]]]] = []
        for i, doc in enumerate(docs):
            existing = self.store.chunk_ids_by_source(collection, doc.source)
            if existing and set(existing.values()) == {doc.id}:
                prepared.append((doc, [], []))
            else:
                prepared.append((doc, *self._embed(doc)))
            if progress:
                progress(i + 1, len(docs), doc.source)
        return self._commit(prepared, collection)

    def _embed(self, doc: Document) -> tuple[list[Chunk], list[list[float]]]:
        chunks = chunk_document(doc, self.chunk_chars, self.overlap_sentences)
        return chunks, self.embedder.embed([c.text for c in chunks])

    def _commit(self, prepared, collection: str) -> IngestReport:
        report = IngestReport(collection=collection)
        fingerprint = self.embedder.fingerprint
        with _writing(self.store):
            for doc, chunks, vectors in prepared:
                # Read again under the lock: another ingest may have written this source meanwhile.
                existing = self.store.chunk_ids_by_source(collection, doc.source)
                if existing and set(existing.values()) == {doc.id}:
                    report.unchanged += 1
                else:
                    if not chunks:  # changed since the first look: embed now (rare)
                        chunks, vectors = self._embed(doc)
                    self.store.upsert(collection, fingerprint, chunks, vectors)
                    self.store.delete_chunks(collection, [cid for cid, did in existing.items() if did != doc.id])
                    report.chunks += len(chunks)
                    if existing:
                        report.updated += 1
                    else:
                        report.added += 1
                report.sources.append(doc.source)
        return report

    def delete_document(self, collection: str, doc_id: str) -> list[str]:
        """Remove every chunk of the document `doc_id` (its content hash); returns the sources it had."""
        check_collection_name(collection)
        with _writing(self.store):
            found = self.store.chunk_ids_by_document(collection, doc_id)
            self.store.delete_chunks(collection, list(found))
        return sorted(set(found.values()))


def _writing(store: Store):
    writing = getattr(store, "writing", None)  # stores without a lock of their own give no guarantee
    return writing() if writing is not None else nullcontext()
