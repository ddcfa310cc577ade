"""Document stores. The real one is Chroma (embedded or a server), cosine space, with our own
vectors (Chroma's default embedding function would download a model)."""

from __future__ import annotations

import functools
import re
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from index.documents import Chunk
from index.errors import (CollectionNotFound, ConfigError, EmbeddingModelMismatch, InvalidCollectionName,
                          QAError, StoreUnavailable, storage_error)
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


CHROMA_HTTP_PORT = 8000  # what `chroma run` listens on
HTTPS_PORT = 443  # an https URL without a port is a TLS proxy in front of Chroma (Chroma itself speaks plain http)


def chroma_address(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a Chroma server URL. An explicit port wins; without one, https means 443
    and http means Chroma's own 8000."""
    from urllib.parse import urlparse

    u = urlparse(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ConfigError(f"Chroma server URL {url!r} is not an http(s) URL: use e.g. http://127.0.0.1:8000 "
                          "(GROUNDQA_CHROMA_URL or --chroma-url).")
    try:
        port = u.port
    except ValueError:
        raise ConfigError(f"Chroma server URL {url!r} has an invalid port: use e.g. http://127.0.0.1:8000.") from None
    ssl = u.scheme == "https"
    return u.hostname, port or (HTTPS_PORT if ssl else CHROMA_HTTP_PORT), ssl


def chroma_client(*, url: str | None = None, path: str | Path | None = None):
    """The one way a Chroma client is made: an HttpClient for `url` (see `chroma_address`), or an embedded
    PersistentClient at `path` (created if missing). Telemetry off, reset off."""
    if (path is None) == (url is None):
        raise ValueError("give exactly one of path or url")
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if url is not None:
        host, port, ssl = chroma_address(url)
        return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
    Path(path).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


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
    """What the indexer, the retrievers and the service call on a store: exactly this, nothing found by
    `hasattr`. Implementations: ChromaStore (embedded or a server), index.memory_store.InMemoryStore.
    tests/index/store_contract.py holds the behaviour every store must have."""

    @property
    def location(self) -> str:
        """Where the store lives (a folder, a server URL, "memory"), for messages and /readyz."""

    def ping(self) -> None:
        """Return if the store is reachable; raise StoreUnavailable if not."""

    def writing(self) -> AbstractContextManager:
        """Hold while writing a batch that readers must see whole (not re-entrant)."""

    def collections(self) -> list[str]: ...
    def has_collection(self, name: str) -> bool: ...
    def count(self, name: str) -> int: ...
    def fingerprint(self, name: str) -> str | None: ...
    def upsert(self, name: str, fingerprint: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None: ...
    def delete_chunks(self, name: str, chunk_ids: Sequence[str]) -> None: ...
    def query(self, name: str, vector: Sequence[float], k: int) -> list[Hit]: ...
    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, list[float]]: ...
    def all_chunks(self, name: str) -> list[Chunk]: ...
    def replace_collection(self, name: str, fingerprint: str, chunks: Sequence[Chunk],
                           vectors: Sequence[Sequence[float]]) -> None: ...
    def finish_replace(self, name: str, complete: bool = False) -> None: ...


def _faults(retry: bool = False):
    """Chroma's failures leave a store method as the error tree's: a full disk InsufficientStorage, a read-only
    home HomeNotWritable, anything else StoreUnavailable (503), never a bare 500. With `retry`, a read that
    fails is tried once more first: an id that another writer just removed ("Error finding id") or a pooled
    connection to a restarted Chroma server succeeds the second time."""
    def wrap(method):
        @functools.wraps(method)
        def mapped(self, *args, **kwargs):
            for last in ((False, True) if retry else (True,)):
                try:
                    return method(self, *args, **kwargs)
                except QAError:
                    raise
                except Exception as exc:
                    if last:
                        raise self._fault(exc) from exc
        return mapped
    return wrap


class ChromaStore:
    """Chroma behind the Store protocol. `path` for an embedded PersistentClient, `url` for a server.

    Consistency within one process: reads (query, count, vectors, all_chunks) run concurrently and
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
        would wait forever, so writers call only the unlocked methods: upsert, delete_chunks, replace_collection)."""
        return self._rw.write()

    @property
    def location(self) -> str:
        return self._url or str(self._path)

    def _fault(self, exc: BaseException) -> QAError:
        mapped = storage_error(exc, self.location) if self._path is not None else None
        return mapped or StoreUnavailable(
            f"The Chroma store at {self.location} failed: {type(exc).__name__}: {exc}. Check that the Chroma "
            "server is running (`chroma run`) or the folder is intact; if this persists, run `qa repair`.")

    def _connect(self):
        with self._lock:
            if self._client is None:
                try:
                    self._client = chroma_client(url=self._url, path=self._path)
                    if self._url:
                        self._client.heartbeat()
                except ConfigError:
                    raise
                except Exception as exc:
                    self._client = None
                    if self._path is not None and storage_error(exc, self.location) is not None:
                        raise storage_error(exc, self.location) from exc
                    raise StoreUnavailable(
                        f"Cannot open the Chroma store at {self.location}: {exc}. "
                        "Check that the path is writable or that the Chroma server is running (`chroma run`)."
                    ) from exc
        return self._client

    def ping(self) -> None:
        client = self._connect()
        try:
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailable(
                f"The Chroma store at {self.location} is unreachable: {exc}. "
                "Check that the Chroma server is running (`chroma run`) and GROUNDQA_CHROMA_URL points at it."
            ) from exc

    @_faults(retry=True)
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

    @_faults(retry=True)
    def fingerprint(self, name: str) -> str | None:
        return (self._get(name).metadata or {}).get("embed_model")

    @_faults(retry=True)
    def count(self, name: str) -> int:
        with self._rw.read():
            return self._get(name).count()

    @_faults()
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

    @_faults()
    def delete_chunks(self, name, chunk_ids) -> None:
        if chunk_ids:
            self._get(name).delete(ids=list(chunk_ids))

    @_faults(retry=True)
    def query(self, name, vector, k) -> list[Hit]:
        with self._rw.read():
            col = self._get(name)  # no count() first: it costs time linear in the collection's size, and Chroma
            res = col.query(       # returns what it has when asked for more (an empty collection: nothing)
                query_embeddings=[list(vector)], n_results=k, include=["documents", "metadatas", "distances"]
            )
        hits = []
        for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]):
            hits.append(Hit(chunk=Chunk.from_metadata(text, meta), chunk_id=cid, score=1.0 - float(dist)))
        return hits

    @_faults(retry=True)
    def all_chunks(self, name: str) -> list[Chunk]:
        with self._rw.read():
            got = self._get(name).get(include=["documents", "metadatas"])
        return [Chunk.from_metadata(t, m) for t, m in zip(got["documents"], got["metadatas"])]

    @_faults(retry=True)
    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vector of each of these chunks (missing ids are left out)."""
        if not chunk_ids:
            return {}
        with self._rw.read():
            got = self._get(name).get(ids=list(chunk_ids), include=["embeddings"])
        return {cid: list(v) for cid, v in zip(got["ids"], got["embeddings"])}

    @_faults()
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

    @_faults()
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
