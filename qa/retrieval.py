"""Retrievers turn a question into numbered passages. `retrieve` is public; subclasses implement `_retrieve`.

- `DenseRetriever`: cosine nearest neighbours of the question's embedding in the vector store.
- `KeywordRetriever`: BM25 over the manifest's full-text index (names and numbers dense search misses).
- `HybridRetriever` (the default): both lists fused. By default by relative score fusion (each list's
  scores min-max normalised, then 0.7 × dense + 0.3 × BM25), optionally by reciprocal rank fusion.
  Measured on ClapNQ dev questions outside the held-out eval subset (249 answerable) and the seed set:
  hit@1 dense 0.900 / 0.750, BM25 0.795 / 1.000, RRF 0.888 / 0.875, relative (0.7) 0.920 / 1.000.

Every retriever answers only with chunks the manifest lists (so a half-finished ingest in another
process is invisible), and every passage's `score` is the cosine similarity of the question and the
chunk, whichever list found it: the refusal model's signals mean the same thing in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from index.embeddings import Embedder
from index.manifest import Manifest
from index.store import Hit, Store
from qa.answers import Passage


@dataclass(frozen=True)
class RetrievalParams:
    """The dense list embeds the question without the collection's subject: a proper noun (spaCy's tagger) in more
    than `subject_share` of the chunks names what the whole collection is about ("Starlette" over the Starlette
    docs, in 64% of its chunks), so it pulls the question towards every introduction instead of the passage that
    answers ("As a contributor, what command runs the Starlette test suite?" found the 'third-party packages' and
    'applications' introductions, not 'Contributing'). The keyword list keeps every word (BM25 already weighs a
    word by its rarity). Shares say nothing over fewer than `subject_min_chunks` chunks."""

    subject_share: float = 0.5
    subject_min_chunks: int = 20


PARAMS = RetrievalParams()
RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al. 2009)
DENSE_WEIGHT = 0.7  # relative score fusion: chosen on the tuning split above (0.6-0.8 all within 0.01)


class Retriever(Protocol):
    def retrieve(self, question: str, collection: str, k: int) -> list[Passage]: ...


class BaseRetriever:
    def retrieve(self, question: str, collection: str, k: int) -> list[Passage]:
        hits, ranks = self._scored(question, collection, k)
        return [
            Passage(
                n=i + 1, chunk_id=h.chunk_id, doc_id=h.chunk.doc_id, source=h.chunk.source, text=h.chunk.text,
                start=h.chunk.start, end=h.chunk.end, score=h.score, title=h.chunk.title, page=h.chunk.page,
                section=h.chunk.section, units=h.chunk.units,
                scores={"dense": h.score, "bm25": None, "fused": None, **ranks.get(h.chunk_id, {})},
            )
            for i, h in enumerate(hits)
        ]

    def _scored(self, question: str, collection: str, k: int) -> tuple[list[Hit], dict[str, dict[str, float]]]:
        """The hits and, per chunk id, the list scores behind them ({"bm25": ..., "fused": ...}, for traces)."""
        return self._retrieve(question, collection, k), {}

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        raise NotImplementedError


class _Indexes(BaseRetriever):
    def __init__(self, embedder: Embedder, store: Store, manifests: Callable[[str], Manifest], depth: int = 20,
                 drop_subject: bool = True, params: RetrievalParams = PARAMS):
        self.embedder = embedder
        self.store = store
        self.manifests = manifests
        self.depth = depth  # candidates taken from each list before fusing / filtering
        self.drop_subject = drop_subject  # the `collection_subject` unit (qa/decisions.py)
        self.params = params

    def _vectors(self, question: str, collection: str):
        """The question's vector (passage scores are cosines with it) and the vector the dense list searches with:
        the question without the collection's subject (`RetrievalParams`), the same vector when nothing is left out."""
        vector = self.embedder.embed([question])[0]
        text = subject_free(question, self.manifests(collection), self.params) if self.drop_subject else question
        return vector, (vector if text == question else self.embedder.embed([text])[0])

    def _dense(self, vector, collection: str, n: int) -> list[Hit]:
        hits = self.store.query(collection, vector, n)
        known = self.manifests(collection).known(h.chunk_id for h in hits)
        return [h for h in hits if h.chunk_id in known]

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
        vector, search = self._vectors(question, collection)
        dense = self._dense(search, collection, max(k, self.depth))[:k]
        return dense if search is vector else self._hits([h.chunk_id for h in dense], collection, vector, [])


class KeywordRetriever(_Indexes):
    """BM25 (SQLite FTS5, Porter stemmer) over the collection's chunks."""

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        return self._scored(question, collection, k)[0]

    def _scored(self, question: str, collection: str, k: int) -> tuple[list[Hit], dict[str, dict[str, float]]]:
        keyword = self.manifests(collection).search(question, k)
        if not keyword:
            return [], {}
        vector = self.embedder.embed([question])[0]
        return self._hits([cid for cid, _ in keyword], collection, vector, []), {c: {"bm25": s} for c, s in keyword}


class HybridRetriever(_Indexes):
    """Dense and BM25 candidates fused: `relative` score fusion (default) or `rrf`."""

    def __init__(self, *args, fusion: str = "relative", **kwargs):
        super().__init__(*args, **kwargs)
        self.fusion = fusion

    def _retrieve(self, question: str, collection: str, k: int) -> list[Hit]:
        return self._scored(question, collection, k)[0]

    def _scored(self, question: str, collection: str, k: int) -> tuple[list[Hit], dict[str, dict[str, float]]]:
        n = max(k, self.depth)
        vector, search = self._vectors(question, collection)
        dense = self._dense(search, collection, n)
        keyword = self.manifests(collection).search(question, n)
        if self.fusion == "rrf":
            scores = rrf_scores([[h.chunk_id for h in dense], [cid for cid, _ in keyword]])
        else:
            scores = relative_scores([(h.chunk_id, h.score) for h in dense], keyword, DENSE_WEIGHT)
        fused = sorted(scores, key=lambda i: -scores[i])
        bm25 = dict(keyword)
        return (self._hits(fused[:k], collection, vector, dense if search is vector else []),
                {c: {"bm25": bm25.get(c), "fused": scores[c]} for c in fused[:k]})


def subject_free(question: str, manifest: Manifest, params: RetrievalParams = PARAMS) -> str:
    """The question without the proper nouns (and their possessive 's) that more than `params.subject_share` of the
    collection's chunks hold; the question itself when none, or when the collection is too small to say."""
    n = manifest.count_chunks()
    if n < params.subject_min_chunks:
        return question
    from index.linguistics import default_annotator

    ann = default_annotator().annotate(question)
    cut: list[tuple[int, int]] = []
    for i, t in enumerate(ann.tokens):
        if t.pos == "PROPN" and manifest.chunk_frequency(ann.token_text(i)) > params.subject_share * n:
            end = t.end
            if i + 1 < len(ann.tokens) and ann.tokens[i + 1].tag == "POS":  # "Starlette's"
                end = ann.tokens[i + 1].end
            cut.append((t.start, end))
    if not cut:
        return question
    out, at = [], 0
    for s, e in cut:
        out.append(question[at:s])
        at = e
    out.append(question[at:])
    text = " ".join("".join(out).split())
    return text if any(ch.isalnum() for ch in text) else question


def relative_fusion(dense: Sequence[tuple[str, float]], keyword: Sequence[tuple[str, float]],
                    weight: float = DENSE_WEIGHT) -> list[str]:
    """Each list's scores min-max normalised to 0..1, then `weight` × dense + (1 - weight) × keyword
    (a chunk missing from a list gets 0 there; a list whose scores are all equal, a single hit included, gives each 1),
    best first."""
    scores = relative_scores(dense, keyword, weight)
    return sorted(scores, key=lambda i: -scores[i])


def relative_scores(dense: Sequence[tuple[str, float]], keyword: Sequence[tuple[str, float]],
                    weight: float = DENSE_WEIGHT) -> dict[str, float]:
    """The fused score of every chunk in either list (`relative_fusion` sorts by it)."""
    scores: dict[str, float] = {}
    for ranking, w in ((dense, weight), (keyword, 1.0 - weight)):
        if not ranking:
            continue
        values = [s for _, s in ranking]
        lo, span = min(values), max(values) - min(values)
        for item, s in ranking:  # a list of one hit (or of equal scores) has nothing to normalise by: each counts fully
            scores[item] = scores.get(item, 0.0) + w * ((s - lo) / span if span else 1.0)
    return scores


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion of several rankings, best first (ties keep first-seen order)."""
    scores = rrf_scores(rankings, k)
    return sorted(scores, key=lambda i: -scores[i])


def rrf_scores(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Each item's reciprocal rank fusion score (`rrf` sorts by it)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def build_retriever(mode: str, embedder: Embedder, store: Store, manifests: Callable[[str], Manifest],
                    fusion: str = "relative", drop_subject: bool = True) -> BaseRetriever:
    if mode == "hybrid":
        return HybridRetriever(embedder, store, manifests, fusion=fusion, drop_subject=drop_subject)
    return {"dense": DenseRetriever, "bm25": KeywordRetriever}[mode](embedder, store, manifests,
                                                                    drop_subject=drop_subject)
