"""A store held in memory: the whole Store protocol with exact cosine search in numpy. Nothing persists.

For unit tests that need a store only as a container and for embedding groundqa where nothing should
touch disk; it behaves as ChromaStore does (tests/index/store_contract.py runs the same tests on both).
Search is exact (one matrix product per query), fine up to ~100k chunks."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from index.documents import Chunk
from index.errors import CollectionNotFound, EmbeddingModelMismatch
from index.locks import ReadWriteLock
from index.store import SIDE_SUFFIX, Hit, _side, check_collection_name


@dataclass
class _Collection:
    fingerprint: str
    texts: dict[str, str] = field(default_factory=dict)  # chunk id -> text
    metas: dict[str, dict] = field(default_factory=dict)  # chunk id -> Chunk.metadata()
    vecs: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> unit vector (float32)


class InMemoryStore:
    """Collections in dicts. Reads (count, query, vectors, all_chunks) wait while a writer holds `writing()`,
    as in ChromaStore; chunks come back as a store round-trip gives them (`Chunk.from_metadata`)."""

    location = "memory"

    def __init__(self) -> None:
        self._cols: dict[str, _Collection] = {}
        self._data = threading.RLock()  # guards the dicts for the length of one call
        self._rw = ReadWriteLock()

    def ping(self) -> None:
        return None  # always reachable

    def writing(self) -> AbstractContextManager:
        return self._rw.write()

    def collections(self, hidden: bool = False) -> list[str]:
        with self._data:
            names = sorted(self._cols)
        return names if hidden else [n for n in names if not n.endswith(SIDE_SUFFIX)]

    def has_collection(self, name: str) -> bool:
        return name in self.collections()

    def _get(self, name: str) -> _Collection:
        check_collection_name(name)
        with self._data:
            col = self._cols.get(name)
        if col is None:
            existing = ", ".join(self.collections()) or "none yet"
            raise CollectionNotFound(
                f"Collection '{name}' does not exist (existing: {existing}). "
                f"Create it with `qa ingest PATH --collection {name}`."
            )
        return col

    def _get_or_create(self, name: str, fingerprint: str) -> _Collection:
        check_collection_name(name)
        with self._data:
            col = self._cols.setdefault(name, _Collection(fingerprint))
        if col.fingerprint and col.fingerprint != fingerprint:
            raise EmbeddingModelMismatch(
                f"Collection '{name}' was built with the embedding model '{col.fingerprint}', not '{fingerprint}'. "
                f"Use that model, re-embed the collection with `qa reindex --collection {name}`, "
                f"or ingest into a new collection (e.g. --collection {name}-2)."
            )
        return col

    def fingerprint(self, name: str) -> str | None:
        return self._get(name).fingerprint or None

    def count(self, name: str) -> int:
        with self._rw.read():
            col = self._get(name)
            with self._data:
                return len(col.texts)

    def upsert(self, name: str, fingerprint: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        if not chunks:
            return
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        col = self._get_or_create(name, fingerprint)
        with self._data:
            for chunk, vector in zip(chunks, vectors):
                v = np.asarray(vector, dtype=np.float32)
                col.texts[chunk.id] = chunk.text
                col.metas[chunk.id] = chunk.metadata()
                col.vecs[chunk.id] = v / max(float(np.linalg.norm(v)), 1e-12)

    def delete_chunks(self, name: str, chunk_ids: Sequence[str]) -> None:
        if not chunk_ids:
            return
        col = self._get(name)
        with self._data:
            for cid in chunk_ids:
                col.texts.pop(cid, None)
                col.metas.pop(cid, None)
                col.vecs.pop(cid, None)

    def query(self, name: str, vector: Sequence[float], k: int) -> list[Hit]:
        with self._rw.read():
            col = self._get(name)
            with self._data:
                ids = list(col.vecs)
                if not ids:
                    return []
                matrix = np.stack([col.vecs[i] for i in ids])
                chunks = {i: Chunk.from_metadata(col.texts[i], col.metas[i]) for i in ids}
        q = np.asarray(vector, dtype=np.float32)
        scores = matrix @ (q / max(float(np.linalg.norm(q)), 1e-12))
        top = np.argsort(-scores, kind="stable")[: max(0, k)]
        return [Hit(chunk=chunks[ids[j]], chunk_id=ids[j], score=float(scores[j])) for j in top]

    def vectors(self, name: str, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        if not chunk_ids:
            return {}
        with self._rw.read():
            col = self._get(name)
            with self._data:
                return {cid: col.vecs[cid].tolist() for cid in chunk_ids if cid in col.vecs}

    def all_chunks(self, name: str) -> list[Chunk]:
        with self._rw.read():
            col = self._get(name)
            with self._data:
                return [Chunk.from_metadata(col.texts[i], col.metas[i]) for i in col.texts]

    def replace_collection(self, name: str, fingerprint: str, chunks: Sequence[Chunk],
                           vectors: Sequence[Sequence[float]]) -> None:
        side = _side(name)
        with self._data:
            self._cols[side] = _Collection(fingerprint)
        self.upsert(side, fingerprint, chunks, vectors)
        self.finish_replace(name, complete=True)

    def finish_replace(self, name: str, complete: bool = False) -> None:
        side = _side(name)
        with self._data:
            if side not in self._cols:
                return
            if complete or name not in self._cols:
                self._cols[name] = self._cols.pop(side)
            else:
                del self._cols[side]
