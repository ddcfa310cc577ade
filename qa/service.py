"""The service: one object that ingests, retrieves, generates, verifies and answers.
Constructing it is cheap; models load on first use."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from index.embeddings import Embedder, SentenceTransformerEmbedder
from index.ingest import Indexer, IngestReport, Progress
from index.manifest import Manifests
from index.store import ChromaStore, Store, StoredDocument, check_collection_name
from qa.answers import Answer, ClaimCheck, Passage
from qa.config import GENERATORS, Config
from qa.errors import CollectionNotFound, ConfigError, EmptyQuestion, InvalidInput, NotFound, QuestionTooLong
from qa.generators import ExtractiveGenerator, Generator, LocalGenerator, OpenAIGenerator
from qa.decisions import Switches
from qa.grounding import Calibration, Grounder
from qa.hops import Hop, multi_hop
from qa.short_answer import short_answer
from qa.retrieval import Retriever, build_retriever


@dataclass(frozen=True)
class Event:
    """What `ask_stream` yields: text as the generator writes it, then the verified answer."""

    kind: str  # "token" | "answer"
    text: str = ""
    answer: Answer | None = None


class SentenceEncoder:
    """Embeds sentences through the embedder, remembering recent ones (passages repeat across questions)."""

    def __init__(self, embedder: Embedder, size: int = 20000):
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.embedder.embed(missing)
            with self._lock:
                for t, v in zip(missing, vectors):
                    self._cache[t] = np.asarray(v, dtype=np.float32)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        with self._lock:
            return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


class Service:
    def __init__(
        self,
        config: Config,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        generators: dict[str, Generator] | None = None,
        retriever: Retriever | None = None,
        calibration: Calibration | None = None,
    ):
        self.config = config
        self.embedder = embedder or SentenceTransformerEmbedder(config.embed_model, threads=config.threads, backend=config.embed_backend)
        if store is None:
            store = ChromaStore(url=config.chroma_url) if config.chroma_url else ChromaStore(path=config.chroma_path)
        self.store = store
        self.manifests = Manifests(config.manifest_path)
        self.indexer = Indexer(self.embedder, self.store, self.manifests, chunk_chars=config.chunk_chars)
        self.retriever = retriever or build_retriever(config.retrieval, self.embedder, self.store, self.manifests,
                                                       config.fusion)
        self._prepared: set[str] = set()
        self.grounder = Grounder(SentenceEncoder(self.embedder), calibration, Switches.without(config.without))
        self._generators: dict[str, Generator] = dict(generators or {})
        self._lock = threading.Lock()

    def variant(self, **changes) -> "Service":
        """The same service with some options changed (e.g. `without="role_conflict"` for an ablation), sharing
        this one's models, store and indexes, so it costs nothing to make."""
        config = self.config.with_(**changes)
        if config.embed_model != self.config.embed_model or config.chroma_url != self.config.chroma_url \
                or config.home != self.config.home:
            raise ConfigError("A variant shares its models and store: change only answering options "
                              "(without, top_k, retrieval, generator, keep_unsupported).")
        shared = {k: g for k, g in self._generators.items() if not isinstance(g, ExtractiveGenerator)}  # uses the grounder
        out = Service(config, embedder=self.embedder, store=self.store, generators=shared,
                      calibration=self.grounder.calibration,
                      retriever=self.retriever if config.retrieval == self.config.retrieval else None)
        out.grounder.encode = self.grounder.encode  # share the sentence-vector cache too
        out._prepared = self._prepared
        return out

    # --- generators ------------------------------------------------------------------------------
    def _build_generator(self, name: str) -> Generator:
        c = self.config
        if name == "local":
            return LocalGenerator(c.llm_model, threads=c.threads, n_ctx=c.llm_ctx, max_tokens=c.max_tokens)
        if name == "openai":
            return OpenAIGenerator(c.openai_base_url, c.openai_model, c.openai_api_key, c.openai_timeout, c.max_tokens)
        if name == "extractive":
            return ExtractiveGenerator(self.grounder)
        raise ConfigError(f"Unknown generator {name!r}: choose one of {', '.join(self.generator_names())}.")

    def generator_names(self) -> list[str]:
        """Every generator this service can use: the built-in ones and any registered ones."""
        return sorted({*GENERATORS, *self._generators})

    def generator(self, name: str | None = None) -> Generator:
        name = name or self.config.generator
        with self._lock:
            if name not in self._generators:
                self._generators[name] = self._build_generator(name)
            return self._generators[name]

    # --- documents -------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path], collection: str | None = None, progress: Progress | None = None,
               *, sync: bool = False) -> IngestReport:
        """Index files and folders (unchanged documents cost nothing; unreadable files are reported in
        `errors` and skipped). With `sync`, documents whose files left the given folders are removed."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        return self.indexer.ingest(paths, collection or self.config.collection, progress, sync=sync)

    def remove(self, targets: Sequence[str], collection: str | None = None) -> list[str]:
        """Remove documents (each named by source, file path or id) from every index; returns their sources."""
        if isinstance(targets, str):
            targets = [targets]
        return self.indexer.remove(self._existing(collection), list(targets))

    def reindex(self, collection: str | None = None, progress: Progress | None = None) -> IngestReport:
        """Re-embed a collection with the configured embedding model (after changing models)."""
        return self.indexer.reindex(self._existing(collection), progress)

    def retriever_for(self, mode: str) -> Retriever:
        """A retriever of another mode (hybrid, dense, bm25) over the same indexes."""
        return build_retriever(mode, self.embedder, self.store, self.manifests, self.config.fusion)

    def collections(self) -> list[str]:
        return self.store.collections()

    def documents(self, collection: str | None = None) -> list[StoredDocument]:
        name = self._existing(collection)
        return [StoredDocument(doc_id=e.doc_id, source=e.source, title=e.title, chunks=len(e.chunk_ids))
                for e in self.manifests(name).documents()]

    def _existing(self, collection: str | None) -> str:
        name = check_collection_name(collection or self.config.collection)
        if not self.store.has_collection(name):
            existing = ", ".join(self.store.collections()) or "none yet"
            raise CollectionNotFound(
                f"Collection '{name}' does not exist (existing: {existing}). "
                f"Create it with `qa ingest PATH --collection {name}`."
            )
        if name not in self._prepared:  # once per process: repair an interrupted ingest, adopt an old collection
            self.indexer.prepare(name)
            self._prepared.add(name)
        return name

    # --- questions -------------------------------------------------------------------------------
    def _question(self, question: object) -> str:
        if not isinstance(question, str):
            raise InvalidInput(f"The question must be text, not {type(question).__name__}.")
        q = question.strip()
        if not q:
            raise EmptyQuestion('The question is empty. Ask something, e.g. qa ask "How did the US vote?"')
        if len(q) > self.config.max_question_chars:
            raise QuestionTooLong(
                f"The question is {len(q):,} characters long; the limit is {self.config.max_question_chars:,}. "
                "Shorten it to the question itself (set GROUNDQA_MAX_QUESTION_CHARS to raise the limit)."
            )
        return q

    def ask(self, question: str, collection: str | None = None, *, top_k: int | None = None,
            generator: str | None = None, keep_unsupported: bool | None = None) -> Answer:
        for event in self.ask_stream(question, collection, top_k=top_k, generator=generator, keep_unsupported=keep_unsupported):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("ask_stream ended without an answer")  # pragma: no cover

    def ask_stream(self, question: str, collection: str | None = None, *, top_k: int | None = None,
                   generator: str | None = None, keep_unsupported: bool | None = None) -> Iterator[Event]:
        q = self._question(question)
        name = self._existing(collection)
        k = self.config.top_k if top_k is None else top_k
        if not isinstance(k, int) or not 1 <= k <= 50:
            raise InvalidInput(f"top_k must be an integer from 1 to 50, got {k!r}.")
        keep = self.config.keep_unsupported if keep_unsupported is None else keep_unsupported
        gen = self.generator(generator)

        t0 = time.perf_counter()
        g = self.grounder
        passages, hops, resolved = self._retrieve(q, name, k)
        t1 = time.perf_counter()
        evidence = g.evidence(passages)
        evidence.annotation_store = self.manifests(name)  # each passage is parsed once, ever
        decision = g.decide(resolved, evidence)  # before generation: a refused question never reaches the generator
        td = time.perf_counter()
        extractive = isinstance(gen, ExtractiveGenerator)
        extract = g.extract(q, evidence, hops=hops) if decision.answerable else []
        raw_parts: list[str] = []
        if decision.answerable and passages:
            pieces = [" ".join(f"{v.text} [{v.span.passage}]" for v in extract)] if extractive else gen.stream(q, passages)
            for piece in pieces:
                raw_parts.append(piece)
                yield Event("token", text=piece)
        raw = "".join(raw_parts)
        t2 = time.perf_counter()

        fallback = None
        reason = decision.reason
        if decision.answerable:
            verified = extract if extractive else g.verify(raw, evidence, q)
            if not extractive and g.needs_fallback(verified, extract, q, evidence):
                verified, fallback = extract, "extractive"
            grounded = g.compose(verified, evidence, keep)
            if not grounded.citations:
                reason = "nothing_supported"
        else:
            grounded = g.compose([], evidence, keep)
        refused = reason is not None
        short = None
        if not refused and g.switches.on("short_answer"):
            short = short_answer(resolved, [c.quote for c in grounded.citations])
        t3 = time.perf_counter()
        answer = Answer(
            question=q,
            answer=decision.refusal_message() if refused else grounded.answer,
            refused=refused,
            citations=[] if refused else grounded.citations,
            generator=gen.name,
            timings_ms={"retrieve": (t1 - t0) * 1000, "generate": (t2 - td) * 1000 if raw_parts else 0.0,
                        "verify": (td - t1) * 1000 + (t3 - t2) * 1000, "total": (t3 - t0) * 1000},
            grounding=0.0 if refused else grounded.grounding,
            sentences=grounded.sentences,
            passages=passages,
            collection=name,
            raw_answer=raw,
            fallback=None if refused or gen.name == "extractive" else fallback,
            answerability=decision.probability,
            refusal_reason=reason,
            short_answer=short,
            hops=[h.to_dict() for h in hops],
        )
        yield Event("answer", answer=answer)

    def _retrieve(self, q: str, name: str, k: int) -> tuple[list, list[Hop], str]:
        """Passages for the question (with multi-hop retrieval when it is switched on), the hops taken, and
        the question with its descriptions resolved (what refusal and the short answer are decided on)."""
        passages = self.retriever.retrieve(q, name, k)
        hops: list[Hop] = [Hop(q, "", tuple(p.n for p in passages))]
        if self.grounder.switches.on("multi_hop"):
            passages, hops = multi_hop(q, passages, lambda query, n: self.retriever.retrieve(query, name, n),
                                       encode=self.grounder.encode)
        return passages, hops, hops[-1].query if hops[-1].bridge else q

    def decision_for(self, question: str, collection: str | None = None, top_k: int | None = None):
        """How `ask` would decide whether to answer, without generating: the Decision (refusal rule, the refusal
        model's probability and features), as `qa calibrate` fits it."""
        q, name = self._question(question), self._existing(collection)
        passages, _, resolved = self._retrieve(q, name, top_k or self.config.top_k)
        return self.grounder.decide(resolved, self.grounder.evidence(passages)), passages

    def check_claim(self, claim: str, passages: Sequence[str], question: str = "") -> ClaimCheck:
        """Verify one claim (an answer sentence) against passages given as plain text, exactly as an answer
        sentence is verified in `ask` (the verifier benchmark, `qa eval --dataset claims`, calls this)."""
        ps = [Passage(n=i, chunk_id=f"given-{i}", doc_id="", source=f"passage {i}", text=t, start=0, end=len(t),
                      score=1.0) for i, t in enumerate(passages, 1)]
        g = self.grounder
        verified = g.verify(claim, g.evidence(ps), question, filter_relevance=False)
        if not verified:
            return ClaimCheck(claim, False, 0.0, "not_found", None)
        worst = min(verified, key=lambda v: (v.supported, v.support))
        reason = worst.reason or ("supported" if worst.supported else "not_found")
        return ClaimCheck(claim, all(v.supported for v in verified), float(worst.support), reason,
                          worst.span.text if worst.span is not None else None)

    def warm_up(self, generator: str | None = None) -> None:
        """Load the embedding model and the generator now rather than on the first question."""
        self.embedder.embed(["warm up"])
        gen = self.generator(generator)
        if hasattr(gen, "load"):
            gen.load()

    def delete_document(self, doc_id: str, collection: str | None = None) -> list[str]:
        """Remove every chunk of the document `doc_id` (its content hash, as `documents()` lists it), in one
        write that questions see whole; returns the sources it had. Raises NotFound if there is no such document."""
        name = self._existing(collection)
        sources = self.indexer.delete_document(name, doc_id)
        if not sources:
            raise NotFound(f"No document {doc_id!r} in collection '{name}'. List the documents with GET /v1/documents "
                           f"or `qa documents --collection {name}`.")
        return sources
