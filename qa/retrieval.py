"""Retrievers turn a question into numbered passages. `retrieve` is public; subclasses implement `_retrieve`."""

from __future__ import annotations

from typing import Protocol

from index.embeddings import Embedder
from index.store import Hit, Store
from qa.answers import Passage


class Retriever(Protocol):
    def retrieve(self, question: str, collection: str, k: int) -> list[Passage]: ...


class BaseRetriever:
    def retrieve(self, question: str, collection: str, k: int) -> list[Passage]:
        hits = self._retrieve(question, collection, k)
        return [
            Passage(
                n=i + 1, chunk_id=h.chunk_id, doc_id=h.chunk.doc_id, source=h.chunk.source, text=h.chunk.text,
                start=h.chunk.start, end=h.chunk.end, score=h.score, title=h.chunk.title,
            )
            for i, h in enumerate(hits)
        ]

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        raise NotImplementedError


class DenseRetriever(BaseRetriever):
    """Cosine nearest neighbours of the question's embedding in Chroma."""

    def __init__(self, embedder: Embedder, store: Store):
        self.embedder = embedder
        self.store = store

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        vector = self.embedder.embed([question])[0]
        return self.store.query(collection, vector, k)
