"""Retrievers turn a question into numbered passages. `retrieve` is public; subclasses implement `_retrieve`.

- `DenseRetriever`: cosine nearest neighbours of the question's embedding in the vector store.
- `KeywordRetriever`: BM25 over the manifest's full-text index (names and numbers dense search misses).
- `HybridRetriever` (the default): both lists fused by reciprocal rank fusion.

Every retriever answers only with chunks the manifest lists (so a half-finished ingest in another
process is invisible), and every passage's `score` is the cosine similarity of the question and the
chunk, whichever list found it: the refusal model's signals mean the same thing in every mode.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np

from index.embeddings import Embedder
from index.manifest import Manifest
from index.store import Hit, Store
from qa.answers import Passage
RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al. 2009)


class Retriever(Protocol):
    def retrieve(self, question: str, collection: str, k: int) -> list[Passage]: ...


class BaseRetriever:
    def retrieve(self, question: str, collection: str, k: int) -> list[Passage]:
        hits = self._retrieve(question, collection, k)
        return [
            Passage(
                n=i + 1, chunk_id=h.chunk_id, doc_id=h.chunk.doc_id, source=h.chunk.source, text=h.chunk.text,
                start=h.chunk.start, end=h.chunk.end, score=h.score, title=h.chunk.title, page=h.chunk.page,
            )
            for i, h in enumerate(hits)
        ]

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        raise NotImplementedError


class _Indexes(BaseRetriever):
    def __init__(self, embedder: Embedder, store: Store, manifests: Callable[[str], Manifest], depth: int = 20):
        self.embedder = embedder
        self.store = store
        self.manifests = manifests
        self.depth = depth  # candidates taken from each list before fusing / filtering

    def _dense(self, vector, collection: str, n: int) -> list[Hit]:
        hits = self.store.query(collection, vector, n)
        known = self.manifests(collection).known(h.chunk_id for h in hits)
        return [h for h in hits if h.chunk_id in known]

    def _keyword(self, question: str, collection: str, n: int) -> list[str]:
        return [cid for cid, _ in self.manifests(collection).search(question, n)]

    def _hits(self, ids: Sequence[str], collection: str, vector, dense: Sequence[Hit]) -> list[Hit]:
        """Hits for `ids` in that order, scored by cosine (from the dense list, else from stored vectors)."""
        have = {h.chunk_id: h for h in dense}
        missing = [i for i in ids if i not in have]
        if missing:
            chunks = {c.id: c for c in self.manifests(collection).chunks(missing)}
            vectors = self.store.vectors(collection, missing)
            q = np.asarray(vector, dtype=np.float32)
            for cid in missing:
                if cid in chunks and cid in vectors:
                    v = np.asarray(vectors[cid], dtype=np.float32)
                    score = float(q @ v / ((np.linalg.norm(q) * np.linalg.norm(v)) or 1.0))
                    have[cid] = Hit(chunk=chunks[cid], chunk_id=cid, score=score)
        return [have[i] for i in ids if i in have]


class DenseRetriever(_Indexes):
    """Cosine nearest neighbours of the question's embedding."""

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        vector = self.embedder.embed([question])[0]
        return self._dense(vector, collection, max(k, self.depth))[:k]


class KeywordRetriever(_Indexes):
    """BM25 (SQLite FTS5, Porter stemmer) over the collection's chunks."""

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        ids = self._keyword(question, collection, k)
        if not ids:
            return []
        vector = self.embedder.embed([question])[0]
        return self._hits(ids, collection, vector, [])


class HybridRetriever(_Indexes):
    """Dense and BM25 candidates fused by reciprocal rank fusion: score(c) = Σ 1 / (RRF_K + rank)."""

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        n = max(k, self.depth)
        vector = self.embedder.embed([question])[0]
        dense = self._dense(vector, collection, n)
        keyword = self._keyword(question, collection, n)
        fused = rrf([[h.chunk_id for h in dense], keyword])
        return self._hits(fused[:k], collection, vector, dense)


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion of several rankings, best first (ties keep first-seen order)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda i: -scores[i])


def build_retriever(mode: str, embedder: Embedder, store: Store, manifests: Callable[[str], Manifest]) -> BaseRetriever:
    kinds = {"hybrid": HybridRetriever, "dense": DenseRetriever, "bm25": KeywordRetriever}
    return kinds[mode](embedder, store, manifests)
