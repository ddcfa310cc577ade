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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from index.chunking import chunk_document
from index.documents import Chunk, Document
from index.embeddings import Embedder
from index.errors import EmbeddingModelMismatch, ManifestCorrupt, NotFound, QAError
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
class RepairReport:
    collection: str
    action: str = "none"  # none | manifest_rebuilt | store_rebuilt | orphans_removed
    documents: int = 0
    chunks: int = 0
    removed: int = 0  # vectors no document referenced
    moved_aside: str = ""  # where the damaged manifest went
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"collection": self.collection, "action": self.action, "documents": self.documents,
                "chunks": self.chunks, "removed": self.removed, "moved_aside": self.moved_aside,
                "seconds": round(self.seconds, 3)}

    def summary(self) -> str:
        what = {"none": "nothing to repair (the manifest and the store agree)",
                "manifest_rebuilt": f"manifest rebuilt from the store (damaged file kept as {self.moved_aside})",
                "store_rebuilt": "store rebuilt from the manifest (chunks re-embedded)",
                "orphans_removed": f"{self.removed} unreferenced vector(s) deleted from the store"}[self.action]
        return (f"{self.collection}: {what}; {self.documents} documents, {self.chunks} chunks "
                f"({self.seconds:.1f} s)")


@dataclass
class _Prepared:
    doc: Document
    path: str
    chunks: list[Chunk]
    vectors: list[list[float]]


class Indexer:
    def __init__(self, embedder: Embedder, store: Store, manifests: Manifests, chunk_chars: int = 700,
                 overlap_sentences: int = 1, batch_chunks: int = 256, annotate: bool = False):
        self.annotate = annotate  # parse each chunk now (index/linguistics.py), stored with the collection
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
        with self.store.writing():
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
        try:
            self.store.upsert(collection, fingerprint, chunks, vectors)
            manifest.apply(changes, fingerprint)
        except BaseException:
            self._undo(manifest, collection, changes)
            raise
        self.store.delete_chunks(collection, [i for c in changes for i in c.stale_ids])
        if self.annotate:  # the sentence/entity/relation parse questions need, made once here rather than on the
            from index.linguistics import default_annotator  # first retrieval of each chunk (bench/README.md)

            default_annotator().annotate_many([c.text for c in chunks], manifest)
        manifest.finish([c.source for c in changes])

    def _undo(self, manifest: Manifest, collection: str, changes: list[Change]) -> None:
        """After a failed write (a full disk, a store gone away): delete the vectors it wrote and close its
        journal entries now, so nothing half-indexed stays behind. If even that fails, the journal keeps the
        entries and the next ingest's `recover` finishes the job."""
        try:
            orphans = manifest.orphans()
            if orphans and self.store.has_collection(collection):
                self.store.delete_chunks(collection, orphans)
            manifest.finish([c.source for c in changes])
        except Exception:
            pass  # the original error is the one to report

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
        with self.store.writing():
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
            with self.store.writing():
                if chunks and not manifest.documents():
                    changes = _changes_from(chunks)
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
        with self.store.writing():
            orphans = manifest.orphans()
            if orphans and self.store.has_collection(collection):
                self.store.delete_chunks(collection, orphans)
            manifest.finish([p[0] for p in pending])
            self._recover_reindex(collection, manifest)
        return len(orphans)

    def repair(self, collection: str, progress: Progress | None = None) -> RepairReport:
        """Make the manifest and the store agree again, from whichever side is intact:
        - the manifest cannot be read (ManifestCorrupt): it is moved aside and rebuilt from the store's chunks
          and metadata (keyword index included);
        - the store lacks chunks the manifest lists (a lost or damaged collection): every chunk is re-embedded
          from the manifest, which keeps their text, into a fresh collection;
        - the store holds vectors no document references: they are deleted.
        Safe to run on a healthy collection (it changes nothing)."""
        check_collection_name(collection)
        t0 = time.perf_counter()
        report = RepairReport(collection=collection)
        manifest = self.manifests(collection)
        in_store = self.store.has_collection(collection)
        try:
            manifest.check()
        except ManifestCorrupt:
            if not in_store:
                raise NotFound(
                    f"Both indexes of collection '{collection}' are lost (a damaged manifest and no vectors): "
                    f"ingest the documents again with `qa ingest PATH --collection {collection}`.") from None
            chunks = self.store.all_chunks(collection)
            with self.store.writing():
                aside = manifest.discard()
                changes = _changes_from(chunks)
                manifest.apply(changes, self.store.fingerprint(collection) or self.embedder.fingerprint)
                manifest.finish([c.source for c in changes])
                manifest.set_meta("adopted", "1")
            report.action, report.moved_aside = "manifest_rebuilt", str(aside or "")
            report.documents, report.chunks = len(changes), len(chunks)
            report.seconds = time.perf_counter() - t0
            return report
        self.recover(collection)
        wanted = manifest.chunks()
        stored = {c.id for c in self.store.all_chunks(collection)} if in_store else set()
        report.documents = len(manifest.documents())
        if any(c.id not in stored for c in wanted):
            self._replace_vectors(collection, manifest, wanted, progress)
            report.action, report.chunks = "store_rebuilt", len(wanted)
        else:
            extra = sorted(stored - {c.id for c in wanted})
            if extra:
                with self.store.writing():
                    self.store.delete_chunks(collection, extra)
                report.action, report.removed = "orphans_removed", len(extra)
            report.chunks = len(wanted)
        report.seconds = time.perf_counter() - t0
        return report

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
        self._replace_vectors(collection, manifest, chunks, progress)
        report = IngestReport(collection=collection, updated=len(entries), chunks=len(chunks),
                              sources=[e.source for e in entries])
        report.seconds = time.perf_counter() - t0
        return report

    def _replace_vectors(self, collection: str, manifest: Manifest, chunks: list[Chunk],
                         progress: Progress | None) -> None:
        """Embed every chunk with the configured model and swap them in as the collection's vectors (a side
        collection takes its place: a crash midway leaves the old vectors, see `_recover_reindex`)."""
        vectors: list[list[float]] = []
        step = 128
        for i in range(0, len(chunks), step):
            vectors += self.embedder.embed([embedding_text(c.section, c.text) for c in chunks[i : i + step]])
            if progress:
                progress(min(i + step, len(chunks)), len(chunks), chunks[min(i + step, len(chunks)) - 1].source)
        fingerprint = self.embedder.fingerprint
        with self.store.writing():
            manifest.set_meta("reindex_to", fingerprint)
            self.store.replace_collection(collection, fingerprint, chunks, vectors)
            self._recover_reindex(collection, manifest)

    def _recover_reindex(self, collection: str, manifest: Manifest) -> None:
        target = manifest.get_meta("reindex_to")
        if target is None:
            return
        self.store.finish_replace(collection)
        if self.store.has_collection(collection) and self.store.fingerprint(collection) == target:
            manifest.set_model(target)  # the new vectors are in place: record their model
        manifest.delete_meta("reindex_to")


def _changes_from(chunks: Sequence[Chunk]) -> list[Change]:
    """The manifest changes that record these stored chunks, one per source (adopting or rebuilding a manifest)."""
    by_source: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    return [Change(source=s, doc_id=cs[0].doc_id, title=cs[0].title, chunks=tuple(sorted(cs, key=lambda c: c.start)))
            for s, cs in by_source.items()]


def _under(path: str, folder: Path) -> bool:
    try:
        Path(path).relative_to(folder)
        return True
    except ValueError:
        return False
