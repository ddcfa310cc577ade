"""Document stores. The real one is Chroma (embedded or a server), cosine space, with our own
vectors (Chroma's default embedding function would download a model)."""

from __future__ import annotations

import re
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from index.documents import Chunk
from index.errors import CollectionNotFound, EmbeddingModelMismatch, InvalidCollectionName, StoreUnavailable
from index.locks import ReadWriteLock

SIDE_SUFFIX = ".reindexing"  # a collection being rebuilt with another embedding model
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,61})[A-Za-z0-9]$")


def check_collection_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidCollectionName(
            f"Invalid collection name {name!r}: use 3-63 characters, letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit (e.g. 'default', 'team-docs')."
        )
    return name


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    chunk_id: str
    score: float  # cosine similarity, higher is better


@dataclass(frozen=True)
class StoredDocument:
    doc_id: str
    source: str
    title: str
    chunks: int


class Store(Protocol):
    def collections(self) -> list[str]: ...
    def has_collection(self, name: str) -> bool: ...
    def count(self, name: str) -> int: ...
    def upsert(self, name: str, fingerprint: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None: ...
    def delete_chunks(self, name: str, chunk_ids: Sequence[str]) -> None: ...
    def chunk_ids_by_source(self, name: str, source: str) -> dict[str, str]: ...
    def chunk_ids_by_document(self, name: str, doc_id: str) -> dict[str, str]: ...
    def query(self, name: str, vector: Sequence[float], k: int) -> list[Hit]: ...
    def documents(self, name: str) -> list[StoredDocument]: ...
    def fingerprint(self, name: str) -> str | None: ...
    def writing(self) -> AbstractContextManager: ...


class ChromaStore:
    """Chroma behind the Store protocol. `path` for an embedded PersistentClient, `url` for a server.

    Consistency within one process: reads (query, documents, count, chunks) run concurrently and
    wait only while a writer holds `writing()`; the indexer writes a whole ingest under it, so
    readers see a collection before or after an ingest, never half of one."""

    def __init__(self, path: Path | None = None, url: str | None = None):
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path or url")
        self._path = path
        self._url = url
        self._client = None
        self._lock = threading.Lock()
        self._rw = ReadWriteLock()

    def writing(self) -> AbstractContextManager:
        """Hold while writing a batch that readers must see whole (not re-entrant; reads inside it
        would wait forever, so writers call only the unlocked methods: upsert, delete_chunks, chunk_ids_*)."""
        return self._rw.write()

    @property
    def location(self) -> str:
        return self._url or str(self._path)

    def _connect(self):
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings

                settings = Settings(anonymized_telemetry=False, allow_reset=False)
                try:
                    if self._url:
                        from urllib.parse import urlparse

                        u = urlparse(self._url)
                        self._client = chromadb.HttpClient(
                            host=u.hostname or "127.0.0.1", port=u.port or (443 if u.scheme == "https" else 8000),
                            ssl=u.scheme == "https", settings=settings,
                        )
                        self._client.heartbeat()
                    else:
                        self._path.mkdir(parents=True, exist_ok=True)
                        self._client = chromadb.PersistentClient(path=str(self._path), settings=settings)
                except Exception as exc:
                    self._client = None
                    raise StoreUnavailable(
                        f"Cannot open the Chroma store at {self.location}: {exc}. "
                        "Check that the path is writable or that the Chroma server is running (`chroma run`)."
                    ) from exc
        return self._client

    def ping(self) -> None:
        client = self._connect()
        client.heartbeat()

    def collections(self, hidden: bool = False) -> list[str]:
        cols = self._connect().list_collections()
        names = sorted(c if isinstance(c, str) else c.name for c in cols)
        return names if hidden else [n for n in names if not n.endswith(SIDE_SUFFIX)]

    def has_collection(self, name: str) -> bool:
        return name in self.collections()

    def _get(self, name: str):
        check_collection_name(name)
        try:
            return self._connect().get_collection(name)
        except Exception as exc:
            if self.has_collection(name):
                raise
            existing = ", ".join(self.collections()) or "none yet"
            raise CollectionNotFound(
                f"Collection '{name}' does not exist (existing: {existing}). "
                f"Create it with `qa ingest PATH --collection {name}`."
            ) from exc

    def _get_or_create(self, name: str, fingerprint: str):
        check_collection_name(name)
        col = self._connect().get_or_create_collection(
            name, metadata={"hnsw:space": "cosine", "embed_model": fingerprint}, embedding_function=None
        )
        stored = (col.metadata or {}).get("embed_model")
        if stored and stored != fingerprint:
            raise EmbeddingModelMismatch(
                f"Collection '{name}' was built with the embedding model '{stored}', not '{fingerprint}'. "
                f"Use that model, re-embed the collection with `qa reindex --collection {name}`, "
                f"or ingest into a new collection (e.g. --collection {name}-2)."
            )
        return col

    def fingerprint(self, name: str) -> str | None:
        return (self._get(name).metadata or {}).get("embed_model")

    def count(self, name: str) -> int:
        with self._rw.read():
            return self._get(name).count()

    def upsert(self, name, fingerprint, chunks, vectors) -> None:
        if not chunks:
            return
        col = self._get_or_create(name, fingerprint)
        batch = 1000
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            col.upsert(
                ids=[c.id for c in part],
                embeddings=[list(v) for v in vectors[i : i + batch]],
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
            )

    def delete_chunks(self, name, chunk_ids) -> None:
        if chunk_ids:
            self._get(name).delete(ids=list(chunk_ids))

    def chunk_ids_by_source(self, name, source) -> dict[str, str]:
        """chunk id -> document id, for every chunk stored for `source`."""
        if not self.has_collection(name):
            return {}
        got = self._get(name).get(where={"source": source}, include=["metadatas"])
        return {cid: meta["doc_id"] for cid, meta in zip(got["ids"], got["metadatas"])}

    def chunk_ids_by_document(self, name, doc_id) -> dict[str, str]:
        """chunk id -> source, for every chunk of the document `doc_id` (its content hash)."""
        got = self._get(name).get(where={"doc_id": doc_id}, include=["metadatas"])
        return {cid: meta["source"] for cid, meta in zip(got["ids"], got["metadatas"])}

    def query(self, name, vector, k) -> list[Hit]:
        with self._rw.read():
            col = self._get(name)
            n = col.count()
            if n == 0:
                return []
            res = col.query(
                query_embeddings=[list(vector)], n_results=min(k, n), include=["documents", "metadatas", "distances"]
            )
        hits = []
        for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]):
            hits.append(Hit(chunk=Chunk.from_metadata(text, meta), chunk_id=cid, score=1.0 - float(dist)))
        return hits

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        with self._rw.read():
            got = self._get(name).get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return [Chunk.from_metadata(t, m) for t, m in zip(got["documents"], got["metadatas"])]

    def all_chunks(self, name: str) -> list[Chunk]:
        with self._rw.read():
            got = self._get(name).get(include=["documents", "metadatas"])
        return [Chunk.from_metadata(t, m) for t, m in zip(got["documents"], got["metadatas"])]

    def documents(self, name) -> list[StoredDocument]:
        with self._rw.read():
            got = self._get(name).get(include=["metadatas"])
        docs: dict[str, StoredDocument] = {}
        for meta in got["metadatas"]:
            d = docs.get(meta["doc_id"])
            docs[meta["doc_id"]] = StoredDocument(
                doc_id=meta["doc_id"], source=meta["source"], title=meta.get("title", ""), chunks=(d.chunks if d else 0) + 1
            )
        return sorted(docs.values(), key=lambda d: d.source)

    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vector of each of these chunks (missing ids are left out)."""
        if not chunk_ids:
            return {}
        with self._rw.read():
            got = self._get(name).get(ids=list(chunk_ids), include=["embeddings"])
        return {cid: list(v) for cid, v in zip(got["ids"], got["embeddings"])}

    def replace_collection(self, name: str, fingerprint: str, chunks: Sequence[Chunk],
                           vectors: Sequence[Sequence[float]]) -> None:
        """Swap in new vectors for every chunk (a re-index with another model): they are written to
        a side collection first, which then takes the collection's place (`finish_replace`)."""
        client = self._connect()
        side = _side(name)
        if side in self.collections(hidden=True):
            client.delete_collection(side)
        client.create_collection(side, metadata={"hnsw:space": "cosine", "embed_model": fingerprint},
                                 embedding_function=None)
        self.upsert(side, fingerprint, chunks, vectors)
        self.finish_replace(name, complete=True)

    def finish_replace(self, name: str, complete: bool = False) -> None:
        """Complete or abandon a replacement that `replace_collection` started. When the side
        collection was fully written (`complete`, or the original is already gone after a crash) it
        takes the original's place; otherwise it is dropped and the original stays."""
        client = self._connect()
        names = self.collections(hidden=True)
        side = _side(name)
        if side not in names:
            return
        if complete or name not in names:
            if name in names:
                client.delete_collection(name)
            client.get_collection(side).modify(name=name)
        else:
            client.delete_collection(side)


def _side(name: str) -> str:
    return name[: 63 - len(SIDE_SUFFIX)] + SIDE_SUFFIX
