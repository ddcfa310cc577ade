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

from index.chunking import chunk_document
from index.documents import Chunk, Document
from index.embeddings import Embedder, SentenceTransformerEmbedder
from index.ingest import Indexer, IngestReport, Progress
from index.manifest import Manifests
from index.store import ChromaStore, Store, StoredDocument, check_collection_name
from qa.answers import Answer, ClaimCheck, Passage, append_new
from qa.config import Config
from qa.conversations import (Conversation, ConversationInfo, ConversationStore, HistoryTurn, Rewrite, Rewriter,
                              check_rating, export_items, model_proposer)
from qa.errors import CollectionNotFound, ConfigError, EmptyQuestion, InvalidInput, NotFound, QuestionTooLong
from qa.generators import GENERATORS, ExtractiveGenerator, Generator
from qa.decisions import Switches
from qa.grounding import Calibration, Grounder
from qa.compare import comparison, side_queries
from qa.hops import Hop, multi_hop
from qa.disagreement import LEAD as DISAGREE_LEAD
from qa.trace import Recorder, ingested
from qa.retrieval import Retriever, build_retriever


@dataclass(frozen=True)
class Event:
    """What `ask_stream` yields: text as the generator writes it, then the verified answer."""

    kind: str  # "token" | "answer"
    text: str = ""
    answer: Answer | None = None


COMPARE_PASSAGES_PER_SIDE = 3  # passages retrieved for each side of a comparison question


class SentenceEncoder:
    """Embeds sentences through the embedder, remembering recent ones (passages repeat across questions)."""

    def __init__(self, embedder: Embedder, size: int = 20000):
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, texts: Sequence[str], vectors: Sequence) -> None:
        """Keep vectors embedded elsewhere (a retrieval's query), unless the text has one already."""
        with self._lock:
            for t, v in zip(texts, vectors):
                if t not in self._cache:
                    self._cache[t] = np.asarray(v, dtype=np.float32)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self.remember(missing, self.embedder.embed(missing))
        with self._lock:
            return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


class QueryEmbedder:
    """The embedder as the retrievers see it: it embeds every query (a retrieval costs what it costs, also when
    timed alone), and leaves the vectors in the grounder's `SentenceEncoder`, so the question (and each hop's
    query) that retrieval embedded is not embedded again to pick and score its sentences (the same vector: it
    was embedded alone either way)."""

    def __init__(self, embedder: Embedder, encoder: SentenceEncoder):
        self.embedder, self.encoder = embedder, encoder

    @property
    def fingerprint(self) -> str:
        return self.embedder.fingerprint

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self.embedder.embed(texts)
        self.encoder.remember(texts, vectors)
        return vectors


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
        self.indexer = Indexer(self.embedder, self.store, self.manifests, chunk_chars=config.chunk_chars,
                               annotate=config.annotate_at_ingest)
        encoder = SentenceEncoder(self.embedder)  # retrieval and grounding share it: a question is embedded once
        self._queries = QueryEmbedder(self.embedder, encoder)
        switches = Switches.without(config.without)
        self.retriever = retriever or build_retriever(config.retrieval, self._queries, self.store, self.manifests,
                                                       config.fusion, switches.on("collection_subject"))
        self._keyword = build_retriever("bm25", self._queries, self.store, self.manifests)  # multi-hop name lookups
        self._prepared: set[str] = set()
        self.grounder = Grounder(encoder, calibration, switches)
        self._generators: dict[str, Generator] = dict(generators or {})
        self._lock = threading.Lock()
        self.conversation_store = ConversationStore(config.conversations_path)
        self._rewriter: Rewriter | None = None

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
                      retriever=self.retriever if config.retrieval == self.config.retrieval and (
                          Switches.without(config.without).on("collection_subject")
                          == self.grounder.switches.on("collection_subject")) else None)
        out.grounder.encode = self.grounder.encode  # share the sentence-vector cache too
        out._queries.encoder = self._queries.encoder  # (its own retriever's queries go there as well)
        out._prepared = self._prepared
        return out

    # --- generators ------------------------------------------------------------------------------
    def _build_generator(self, name: str) -> Generator:
        factory = GENERATORS.get(name)
        if factory is None:
            raise ConfigError(f"Unknown generator {name!r}: choose one of {', '.join(self.generator_names())} "
                              "(or register one with qa.generators.register_generator).")
        return factory(self.config, self.grounder)

    def generator_names(self) -> list[str]:
        """Every generator this service can use: the registered ones (built-ins included, qa.generators.GENERATORS)
        and the ones given to this service (`generators=`)."""
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
        return ingested(self.indexer.ingest(paths, collection or self.config.collection, progress, sync=sync))

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
        return build_retriever(mode, self._queries, self.store, self.manifests, self.config.fusion,
                               self.grounder.switches.on("collection_subject"))

    def collections(self) -> list[str]:
        return self.store.collections()

    def collection_sizes(self) -> dict[str, int]:
        """Chunks stored in each collection, by name."""
        return {name: self.store.count(name) for name in self.store.collections()}

    def store_location(self) -> str:
        """Where the store lives: its folder, or the Chroma server's URL."""
        return self.store.location

    def ping_store(self) -> None:
        """Return if the store is reachable; raise StoreUnavailable (saying how to fix it) if not."""
        self.store.ping()

    def ingest_documents(self, documents: Sequence[Document], collection: str | None = None,
                         progress: Progress | None = None) -> IngestReport:
        """Index documents already loaded (eval datasets, generated corpora); unchanged ones cost nothing."""
        return ingested(self.indexer.ingest_documents(list(documents), collection or self.config.collection, progress))

    def chunks_of(self, document: Document) -> list[Chunk]:
        """The chunks `ingest` makes of a document (its chunk size and overlap), without storing them."""
        return chunk_document(document, self.indexer.chunk_chars, self.indexer.overlap_sentences)

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
        import unicodedata

        from qa.errors import InvalidUnicode

        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in question):
            raise InvalidUnicode("The question is not valid Unicode (it holds a lone surrogate such as \\ud800); "
                                 "send it as UTF-8 text.")
        q = question.strip()
        if not q or all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp") for ch in q):
            raise EmptyQuestion('The question is empty (no visible characters). Ask something, e.g. '
                                'qa ask "How did the US vote?"')
        if len(q) > self.config.max_question_chars:
            raise QuestionTooLong(
                f"The question is {len(q):,} characters long; the limit is {self.config.max_question_chars:,}. "
                "Shorten it to the question itself (set GROUNDQA_MAX_QUESTION_CHARS to raise the limit)."
            )
        return q

    def ask(self, question: str, collection: str | None = None, *, top_k: int | None = None,
            generator: str | None = None, keep_unsupported: bool | None = None, trace: bool = False) -> Answer:
        for event in self.ask_stream(question, collection, top_k=top_k, generator=generator, keep_unsupported=keep_unsupported,
                                     trace=trace):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("ask_stream ended without an answer")  # pragma: no cover

    def ask_stream(self, question: str, collection: str | None = None, *, top_k: int | None = None,
                   generator: str | None = None, keep_unsupported: bool | None = None,
                   extra_passages: Sequence[Passage] = (), trace: bool = False) -> Iterator[Event]:
        """`extra_passages` (a conversation's earlier cited passages) join the retrieved ones as candidates.
        With `trace`, the answer carries its Trace (qa/trace.py: scores, decision, raw text, stage timings)."""
        q = self._question(question)
        name = self._existing(collection)
        k = self.config.top_k if top_k is None else top_k
        if not isinstance(k, int) or not 1 <= k <= 50:
            raise InvalidInput(f"top_k must be an integer from 1 to 50, got {k!r}.")
        keep = self.config.keep_unsupported if keep_unsupported is None else keep_unsupported
        gen = self.generator(generator)
        rec = Recorder(self.config, name, gen.name, trace=trace)  # trace, spans, observers (qa/trace.py)

        t0 = time.perf_counter()
        g = self.grounder
        passages, hops, resolved = self._retrieve(q, name, k)
        if extra_passages:
            passages = list(passages)
            append_new(passages, extra_passages)
        t1 = time.perf_counter()
        evidence = g.evidence(passages, self.manifests(name))  # each passage parsed once, ever; instructions marked
        decision = g.decide(resolved, evidence)  # before generation: a refused question never reaches the generator
        td = time.perf_counter()
        extractive = isinstance(gen, ExtractiveGenerator)
        extract = g.extract(q, evidence, hops=hops, compared=decision.compared) if decision.answerable else []
        disagree = g.disagreement(resolved, evidence) if decision.answerable and decision.compared is None else []
        if disagree:  # two documents tell the asked fact otherwise: both quotes, nothing generated (qa/disagreement.py)
            extract, extractive = disagree, True
        raw_parts: list[str] = []
        if decision.answerable and passages:
            pieces = [" ".join(f"{v.text} [{v.span.passage}]" for v in extract)] if extractive \
                else rec.generating(gen.stream, q, evidence.for_generator())  # instructions left out
            for piece in pieces:
                raw_parts.append(piece)
                yield Event("token", text=piece)
        raw = "".join(raw_parts)
        t2 = time.perf_counter()

        fallback = None
        reason = decision.reason
        if decision.answerable:
            verified = extract if extractive else g.verify(raw, evidence, q)
            decided = decision.compared is not None and decision.compared.short_answer is not None
            if not extractive and (decided or g.needs_fallback(verified, extract, q, evidence)):  # a comparison: its quotes
                verified, fallback = extract, "extractive"
            grounded = g.compose(verified, evidence, keep)
            if disagree:
                grounded.answer = f"{DISAGREE_LEAD} {grounded.answer}"
            if not grounded.citations:
                reason = "nothing_supported"
        else:
            grounded = g.compose([], evidence, keep)
        refused = reason is not None
        short = None
        if not refused and not disagree and g.switches.on("short_answer"):
            compared = decision.compared.short_answer if decision.compared else None
            short = compared or g.lead(resolved, evidence, [(c.quote, c.passage, c.start) for c in grounded.citations])
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
            disagreement=bool(disagree) and not refused,
        )
        yield Event("answer", answer=rec.finish(answer, decision, t0, t1, td, t2, t3))

    def _retrieve(self, q: str, name: str, k: int) -> tuple[list, list[Hop], str]:
        """Passages for the question (with multi-hop retrieval when it is switched on), the hops taken, and
        the question with its descriptions resolved (what refusal and the short answer are decided on)."""
        passages = self.retriever.retrieve(q, name, k)
        hops: list[Hop] = [Hop(q, "", tuple(p.n for p in passages))]
        cmp = comparison(q) if self.grounder.switches.on("compare") else None
        if cmp is not None:  # "Which was formed first, X or Y?": each side's own passages too (qa/compare.py)
            for query in side_queries(cmp, q):
                hops.append(Hop(query, "", append_new(passages, self.retriever.retrieve(query, name,
                                                                                         COMPARE_PASSAGES_PER_SIDE))))
        elif self.grounder.switches.on("multi_hop"):
            passages, hops = multi_hop(q, passages, lambda query, n: self.retriever.retrieve(query, name, n),
                                       encode=self.grounder.encode,
                                       lookup=(lambda query, n: self._keyword.retrieve(query, name, n))
                                       if self.grounder.switches.on("hop_names") else None)
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

    # --- conversations (qa/conversations.py) ---------------------------------------------------------
    @property
    def rewriter(self) -> Rewriter:
        """Makes follow-ups standalone: deterministic (spaCy), or the local model's proposal when
        `rewrite_with_model` is set and the proposal passes the check."""
        with self._lock:
            if self._rewriter is None:
                propose = None
                if self.config.rewrite_with_model:
                    local = self.generator("local") if "local" in self.generator_names() else None
                    propose = model_proposer(local) if isinstance(local, LocalGenerator) else None
                self._rewriter = Rewriter(propose=propose)
            return self._rewriter

    def conversation(self, id: str | None = None, *, collection: str | None = None,
                     generator: str | None = None) -> Conversation:
        """The saved conversation `id` (NotFound if there is none), or a new one when `id` is None."""
        store = self.conversation_store
        if id is None:
            return Conversation(self, store.create(self._existing(collection), generator))
        return Conversation(self, store.info(id))

    def conversations(self) -> list[ConversationInfo]:
        """The saved conversations, most recently used first."""
        return self.conversation_store.list()

    def delete_conversation(self, id: str) -> None:
        self.conversation_store.delete(id)

    def feedback(self, answer_id: str, rating: str | int, comment: str | None = None) -> dict:
        """Store a thumbs up/down (and an optional comment) with the conversation turn that gave the answer."""
        value = check_rating(rating)
        if comment is not None and not isinstance(comment, str):
            raise InvalidInput("comment must be text.")
        cid, n = self.conversation_store.rate(str(answer_id), value, comment)
        return {"answer_id": answer_id, "conversation_id": cid, "turn": n, "rating": "up" if value > 0 else "down",
                "comment": comment}

    def feedback_items(self) -> tuple[list[dict], int]:
        """Eval items (evals/datasets.py's JSONL format) made from rated turns, and how many were left out."""
        return export_items(self.conversation_store.rated())

    def resolve(self, messages: Sequence[tuple[str, str]]) -> Rewrite:
        """The last user message of a chat (role, content) made standalone against the earlier messages,
        each earlier user message resolved in turn (what /v1/chat/completions searches for)."""
        history: list[HistoryTurn] = []
        rw = None
        for role, content in messages:
            if role == "user":
                rw = self.rewriter.rewrite(self._question(content), history)
                history.append(HistoryTurn(rw.standalone))
            elif role == "assistant" and history and not history[-1].answer:
                history[-1] = HistoryTurn(history[-1].question, content)
        if rw is None:
            raise InvalidInput("The messages hold no user message. Put the question in a message with role 'user'.")
        return rw

    def warm_up(self, generator: str | None = None) -> None:
        """Load the embedding model and the generator now rather than on the first question."""
        self.embedder.embed(["warm up"])
        self.generator(generator).load()

    def delete_document(self, doc_id: str, collection: str | None = None) -> list[str]:
        """Remove every chunk of the document `doc_id` (its content hash, as `documents()` lists it), in one
        write that questions see whole; returns the sources it had. Raises NotFound if there is no such document."""
        name = self._existing(collection)
        sources = self.indexer.delete_document(name, doc_id)
        if not sources:
            raise NotFound(f"No document {doc_id!r} in collection '{name}'. List the documents with GET /v1/documents "
                           f"or `qa documents --collection {name}`.")
        return sources

    # --- health, repair and uploads (one writer per home, faults as clear errors) ------------------------
    def readiness(self, *, load_models: bool = True):
        """Whether this service can answer and ingest now (qa/readiness.py): the store answers, every manifest opens
        and agrees with the store, the home takes a write, the models load. Checked afresh on every call, so a
        failure clears as soon as its cause goes away. `load_models=False` reports the models as still loading."""
        from qa.errors import ManifestCorrupt, ModelUnavailable, StoreUnavailable
        from qa.readiness import Check, Readiness, probe_home, run_check

        store = run_check(self._ready_store, StoreUnavailable)
        checks = {
            "store": store,
            "manifest": run_check(lambda: self._ready_manifests(compare=store.ok), ManifestCorrupt),
            "home": run_check(lambda: probe_home(self.config.home), StoreUnavailable),
            "generator": run_check(self._ready_models, ModelUnavailable) if load_models
            else Check(False, "not_ready", "Loading the models; try again in a few seconds."),
        }
        return Readiness(checks=checks, generator=self.config.generator, store=self.store.location)

    def _ready_store(self) -> str:
        self.store.ping()
        return f"{len(self.store.collections())} collection(s) at {self.store.location}"

    def _ready_manifests(self, compare: bool) -> str:
        from qa.readiness import agreement

        names = set(self.manifests.names()) | (set(self.store.collections()) if compare else set())
        notes = []
        for name in sorted(names):
            manifest = self.manifests(name)
            if compare:
                notes.append(agreement(name, manifest, self.store))
            elif manifest.exists():
                notes.append(f"'{name}': {manifest.count_chunks()} chunks (the store was not compared)")
        return "; ".join(notes) or "no collections yet"

    def _ready_models(self) -> str:
        self.warm_up()
        gen = self.generator()
        gen.ping()  # a remote LLM server is part of being ready
        return f"the embedding model and the {gen.name} generator are loaded"

    def repair(self, collection: str | None = None, progress: Progress | None = None):
        """Make a collection's manifest (with its keyword index) and its vectors agree again, rebuilding the damaged
        side from the intact one (index.ingest.Indexer.repair); returns a RepairReport."""
        name = check_collection_name(collection or self.config.collection)
        if name not in self.manifests.names() and not self.store.has_collection(name):
            existing = ", ".join(sorted(set(self.manifests.names()) | set(self.store.collections()))) or "none yet"
            raise CollectionNotFound(f"Collection '{name}' does not exist (existing: {existing}); nothing to repair.")
        report = self.indexer.repair(name, progress)
        self._prepared.discard(name)
        return report

    def add_uploads(self, files: Sequence[tuple[str, bytes]], collection: str | None = None):
        """Save uploaded files (name, bytes) under the home's upload folder and index them (qa/uploads.py). A file
        that is not indexed is not left on disk as if accepted: on any failure (a full disk, a read-only home, an
        unreadable file) the files this call wrote are removed again and replaced ones restored.
        Returns (IngestReport, [(path, Document)])."""
        from qa.uploads import ingest_uploads

        return ingest_uploads(self.config, collection or self.config.collection, files,
                              lambda paths, name: self.ingest(paths, name))
