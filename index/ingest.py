"""Ingestion: load, chunk, embed and store, incrementally and safely.

- Incremental: a document whose content hash the manifest already records for its source is not
  embedded again; a changed document's chunks replace its old ones; `sync` also removes documents
  whose files disappeared from the folders given.
- A file that cannot be read is skipped with its error in the report; the rest of the batch goes on.
- Crash-safe: changes are committed in batches through the manifest's journal (see index/manifest.py);
  a process killed mid-ingest leaves every committed batch in place and nothing half-written visible,
  and the next ingest cleans up and finishes the job.
- Questions keep being answered while documents are embedded (no lock is held for that); each
  batch is written under the store's write lock, so a reader sees whole documents.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from index.chunking import chunk_document
from index.documents import Chunk, Document
from index.embeddings import Embedder
from index.errors import EmbeddingModelMismatch, NotFound, QAError
from index.loaders import expand_paths, load
from index.manifest import Change, Manifest, Manifests
from index.store import Store, check_collection_name
from index.structure import embedding_text

Progress = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    chunks: int = 0  # chunks embedded and written by this ingest
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"source", "error"} per failed file

    def to_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
            "failed": self.failed, "collection": self.collection, "chunks": self.chunks,
            "seconds": round(self.seconds, 3), "sources": list(self.sources), "errors": list(self.errors),
        }

    def summary(self) -> str:
        return (f"{self.collection}: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.removed} removed, {self.failed} failed ({self.chunks} chunks embedded in {self.seconds:.1f} s)")


@dataclass
class _Prepared:
    doc: Document
    path: str
    chunks: list[Chunk]
    vectors: list[list[float]]


class Indexer:
    def __init__(self, embedder: Embedder, store: Store, manifests: Manifests, chunk_chars: int = 700,
                 overlap_sentences: int = 1, batch_chunks: int = 256):
        self.embedder = embedder
        self.store = store
        self.manifests = manifests
        self.chunk_chars = chunk_chars
        self.overlap_sentences = overlap_sentences
        self.batch_chunks = batch_chunks

    # --- ingest --------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path], collection: str = "default", progress: Progress | None = None,
               sync: bool = False) -> IngestReport:
        """Index files and folders. With `sync`, documents that came from the given folders and whose
        files are gone are removed too."""
        check_collection_name(collection)
        t0 = time.perf_counter()
        files = expand_paths(list(paths))  # a path that does not exist stops everything, before any work
        report = IngestReport(collection=collection)
        docs: list[tuple[Document, str]] = []
        for f in files:
            try:
                docs.append((load(f), str(f.resolve())))
            except QAError as exc:
                report.failed += 1
                report.errors.append({"source": str(f), "error": exc.message})
        self._ingest(docs, collection, progress, report)
        if sync:
            folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
            present = {str(f.resolve()) for f in files}
            gone = [e.source for e in self.manifests(collection).documents()
                    if e.path and e.path not in present and any(_under(e.path, d) for d in folders)]
            report.removed += len(self.remove(collection, gone)) if gone else 0
        report.seconds = time.perf_counter() - t0
        return report

    def ingest_documents(self, docs: Sequence[Document], collection: str = "default",
                         progress: Progress | None = None, paths: Sequence[str] | None = None) -> IngestReport:
        """Index documents already loaded (uploads, eval datasets). `paths` are their files, if any."""
        check_collection_name(collection)
        t0 = time.perf_counter()
        report = IngestReport(collection=collection)
        self._ingest(list(zip(docs, paths or [""] * len(docs))), collection, progress, report)
        report.seconds = time.perf_counter() - t0
        return report

    def _ingest(self, docs: list[tuple[Document, str]], collection: str, progress: Progress | None,
                report: IngestReport) -> None:
        if not docs:
            return
        self.prepare(collection)
        manifest = self.manifests(collection)
        self._check_model(collection, manifest)
        batch: list[_Prepared] = []
        for i, (doc, path) in enumerate(docs):
            entry = manifest.document(doc.source)
            if entry is not None and entry.doc_id == doc.id:
                report.unchanged += 1
                report.sources.append(doc.source)
            else:
                batch.append(_Prepared(doc, path, chunk_document(doc, self.chunk_chars, self.overlap_sentences), []))
                if sum(len(p.chunks) for p in batch) >= self.batch_chunks:
                    self._commit(self._embed_batch(batch), collection, report)
                    batch = []
            if progress:
                progress(i + 1, len(docs), doc.source)
        if batch:
            self._commit(self._embed_batch(batch), collection, report)

    def _embed_batch(self, batch: list[_Prepared]) -> list[_Prepared]:
        """One encode call for the chunks of many documents (small documents embed far faster together)."""
        vectors = self.embedder.embed([embedding_text(c.section, c.text) for p in batch for c in p.chunks])
        at = 0
        for p in batch:
            p.vectors, at = vectors[at : at + len(p.chunks)], at + len(p.chunks)
        return batch

    def _commit(self, batch: list[_Prepared], collection: str, report: IngestReport) -> None:
        manifest = self.manifests(collection)
        with _writing(self.store):
            changes, chunks, vectors = [], [], []
            for p in batch:
                entry = manifest.document(p.doc.source)  # read again: another ingest may have written it meanwhile
                if entry is not None and entry.doc_id == p.doc.id:
                    report.unchanged += 1
                    report.sources.append(p.doc.source)
                    continue
                changes.append(Change(source=p.doc.source, doc_id=p.doc.id, path=p.path, title=p.doc.title,
                                      chunks=tuple(p.chunks), old_ids=entry.chunk_ids if entry else ()))
                chunks += p.chunks
                vectors += p.vectors
                if entry is None:
                    report.added += 1
                else:
                    report.updated += 1
                report.chunks += len(p.chunks)
                report.sources.append(p.doc.source)
            if changes:
                self._write(manifest, collection, changes, chunks, vectors)

    def _write(self, manifest: Manifest, collection: str, changes: list[Change], chunks, vectors) -> None:
        """Journal, vectors, manifest, cleanup: a crash between any two steps is repaired by `recover`."""
        fingerprint = self.embedder.fingerprint
        manifest.begin(changes)
        self.store.upsert(collection, fingerprint, chunks, vectors)
        manifest.apply(changes, fingerprint)
        self.store.delete_chunks(collection, [i for c in changes for i in c.stale_ids])
        manifest.finish([c.source for c in changes])

    def _check_model(self, collection: str, manifest: Manifest) -> None:
        stored = manifest.fingerprint
        if stored and stored != self.embedder.fingerprint and manifest.documents():
            raise EmbeddingModelMismatch(
                f"Collection '{collection}' was built with the embedding model '{stored}', not "
                f"'{self.embedder.fingerprint}'. Vectors of two models cannot be mixed: re-embed the collection "
                f"with `qa reindex --collection {collection}` (with the new model configured), or use the old model."
            )

    # --- remove --------------------------------------------------------------------------------
    def remove(self, collection: str, targets: Sequence[str]) -> list[str]:
        """Remove documents, each named by its source, its file path or its id (content hash), from
        every index. Returns the sources removed; raises NotFound if a target matches nothing."""
        check_collection_name(collection)
        self.prepare(collection)
        manifest = self.manifests(collection)
        with _writing(self.store):
            entries, missing = {}, []
            by_path = {e.path: e for e in manifest.documents() if e.path}
            for t in targets:
                entry = manifest.document(t)
                found = [entry] if entry else manifest.by_doc_id(t)
                if not found:
                    resolved = str(Path(t).expanduser().resolve())
                    found = [e for p, e in by_path.items() if p == resolved or _under(p, Path(resolved))]
                if not found:
                    missing.append(t)
                for e in found:
                    entries[e.source] = e
            if missing:
                raise NotFound(
                    f"No document {', '.join(repr(m) for m in missing)} in collection '{collection}'. "
                    f"List them with `qa documents --collection {collection}` (a source, a path or an id works)."
                )
            changes = [Change(source=e.source, old_ids=e.chunk_ids) for e in entries.values()]
            if changes:
                self._write(manifest, collection, changes, [], [])
        return sorted(entries)

    def delete_document(self, collection: str, doc_id: str) -> list[str]:
        """Remove the document `doc_id` (its content hash) from every index; returns the sources it had."""
        check_collection_name(collection)
        if not self.manifests(collection).by_doc_id(doc_id):
            return []
        return self.remove(collection, [doc_id])

    # --- repair and upkeep ---------------------------------------------------------------------
    def prepare(self, collection: str) -> None:
        """Make the manifest and the store agree before writing: finish what a killed process left
        (`recover`), and build the manifest of a collection made before manifests existed."""
        self.recover(collection)
        manifest = self.manifests(collection)
        if manifest.get_meta("adopted") is None:
            chunks = self.store.all_chunks(collection) if self.store.has_collection(collection) else []
            with _writing(self.store):
                if chunks and not manifest.documents():
                    by_source: dict[str, list[Chunk]] = {}
                    for c in chunks:
                        by_source.setdefault(c.source, []).append(c)
                    changes = [Change(source=s, doc_id=cs[0].doc_id, title=cs[0].title,
                                      chunks=tuple(sorted(cs, key=lambda c: c.start))) for s, cs in by_source.items()]
                    manifest.apply(changes, self.store.fingerprint(collection) or self.embedder.fingerprint)
                    manifest.finish([c.source for c in changes])
                manifest.set_meta("adopted", "1")

    def recover(self, collection: str) -> int:
        """Delete vectors that an interrupted change left behind; returns how many."""
        manifest = self.manifests(collection)
        if not manifest.exists():
            return 0
        pending = manifest.pending()
        if not pending and manifest.get_meta("reindex_to") is None:
            return 0
        with _writing(self.store):
            orphans = manifest.orphans()
            if orphans and self.store.has_collection(collection):
                self.store.delete_chunks(collection, orphans)
            manifest.finish([p[0] for p in pending])
            self._recover_reindex(collection, manifest)
        return len(orphans)

    def reindex(self, collection: str, progress: Progress | None = None) -> IngestReport:
        """Re-embed every chunk of the collection with the configured model (after a model change)."""
        check_collection_name(collection)
        t0 = time.perf_counter()
        self.prepare(collection)
        manifest = self.manifests(collection)
        entries = manifest.documents()
        if not entries:
            raise NotFound(f"Collection '{collection}' has no documents to re-index. Ingest some with "
                           f"`qa ingest PATH --collection {collection}`.")
        chunks = manifest.chunks()
        vectors: list[list[float]] = []
        step = 128
        for i in range(0, len(chunks), step):
            vectors += self.embedder.embed([embedding_text(c.section, c.text) for c in chunks[i : i + step]])
            if progress:
                progress(min(i + step, len(chunks)), len(chunks), chunks[min(i + step, len(chunks)) - 1].source)
        fingerprint = self.embedder.fingerprint
        with _writing(self.store):
            manifest.set_meta("reindex_to", fingerprint)
            self.store.replace_collection(collection, fingerprint, chunks, vectors)
            self._recover_reindex(collection, manifest)
        report = IngestReport(collection=collection, updated=len(entries), chunks=len(chunks),
                              sources=[e.source for e in entries])
        report.seconds = time.perf_counter() - t0
        return report

    def _recover_reindex(self, collection: str, manifest: Manifest) -> None:
        target = manifest.get_meta("reindex_to")
        if target is None:
            return
        self.store.finish_replace(collection)
        if self.store.has_collection(collection) and self.store.fingerprint(collection) == target:
            manifest.set_model(target)  # the new vectors are in place: record their model
        manifest.delete_meta("reindex_to")


def _under(path: str, folder: Path) -> bool:
    try:
        Path(path).relative_to(folder)
        return True
    except ValueError:
        return False


def _writing(store: Store):
    writing = getattr(store, "writing", None)  # stores without a lock of their own give no guarantee
    return writing() if writing is not None else nullcontext()
