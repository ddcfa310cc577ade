"""What the sections share: options, the corpus written to files, temp homes, and the objects that
are costly to build (a warm service over an indexed collection, the raw reference index)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench.common import APP, ChildResult, child_env, log, python, run_child

COLLECTION = "bench"


@dataclass
class Options:
    quick: bool = False
    repeat: int | None = None  # ingest / cold-start runs; None = the mode's default
    threads: int = 2
    only: tuple[str, ...] = ()
    keep: bool = False
    scale_sizes: tuple[int, ...] = ()  # scale section: chunks per point; () = the mode's default
    scale_modes: tuple[str, ...] = ()  # scale section: "embedded", "server"; () = both

    @property
    def runs(self) -> int:
        return self.repeat or (1 if self.quick else 3)

    @property
    def queries(self) -> int:
        return 3 if self.quick else 100  # retrieval latency: this many questions (ClapNQ has 100)

    @property
    def asks(self) -> int:
        return 2 if self.quick else 20  # end-to-end ask, generation, TTFT: this many questions

    @property
    def max_tokens(self) -> int | None:
        return 16 if self.quick else None  # None = the product default (Config.max_tokens)


@dataclass
class Corpus:
    name: str
    documents: list  # index.documents.Document, as the loader reads the files back
    questions: list[str]
    folder: Path  # one .txt file per document: what `qa ingest` and Service.ingest read
    chunk_texts: list[str] = field(default_factory=list)


def load_corpus(root: Path, quick: bool, chunks_of: Callable) -> Corpus:
    """The pooled ClapNQ dev passages and questions (quick: 20 passages, including the gold ones of the
    first questions); the seed article if ClapNQ is not on this machine. `chunks_of(document)` chunks as
    ingest does (Service.chunks_of)."""
    from evals.datasets import clapnq, seed_dataset, seed_documents
    from index.loaders import expand_paths, load
    from qa.errors import QAError

    try:
        examples, docs = clapnq(all=True)
        name = "clapnq-dev"
        if quick:
            examples = [e for e in examples if e.answerable][:3]
            gold = {s for e in examples for s in e.gold_sources}
            picked = [d for d in docs if d.source in gold]
            picked += [d for d in docs if d.source not in gold][: max(0, 20 - len(picked))]
            docs, name = picked, "clapnq-dev-quick"
    except QAError as exc:
        log(f"ClapNQ not available ({exc.message.split('.')[0]}); using the seed article")
        examples, docs, name = seed_dataset(), seed_documents(), "seed"
    folder = root / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    for i, d in enumerate(docs):
        (folder / f"{i:04d}.txt").write_text(d.text, encoding="utf-8")
    documents = [load(f) for f in expand_paths([folder])]
    chunks = [c.text for d in documents for c in chunks_of(d)]
    questions = list(dict.fromkeys(e.question for e in examples))
    return Corpus(name, documents, questions, folder, chunks)


class Context:
    def __init__(self, options: Options):
        self.options = options
        self.root = Path(tempfile.mkdtemp(prefix="groundqa-bench-"))
        self._homes = 0
        self._corpus: Corpus | None = None
        self._embedder = None
        self._service = None
        self._raw_model = None
        self.raw_collection: Any = None  # a Chroma collection holding the raw reference's vectors
        self._cli_home: Path | None = None
        self.cli_ingest: ChildResult | None = None
        self.serve_runs: list[dict] = []
        self.floor_ask_peak_mb: float | None = None

    # --- places ---------------------------------------------------------------------------------
    def new_dir(self, kind: str) -> Path:
        self._homes += 1
        path = self.root / f"{kind}-{self._homes}"
        path.mkdir(parents=True)
        return path

    # --- configuration -----------------------------------------------------------------------------
    def overrides(self) -> dict:
        o: dict = {"threads": self.options.threads}
        if self.options.max_tokens:
            o["max_tokens"] = self.options.max_tokens
        return o

    def child_env(self, home: Path) -> dict[str, str]:
        env = child_env(home, GROUNDQA_THREADS=str(self.options.threads), GROUNDQA_COLLECTION=COLLECTION)
        if self.options.max_tokens:
            env["GROUNDQA_MAX_TOKENS"] = str(self.options.max_tokens)
        return env

    @property
    def corpus(self) -> Corpus:
        if self._corpus is None:
            probe = self.open_service(self.new_dir("probe"))
            self._corpus = load_corpus(self.root, self.options.quick, probe.chunks_of)
            log(f"corpus {self._corpus.name}: {len(self._corpus.documents)} documents, "
                f"{len(self._corpus.chunk_texts)} chunks, {len(self._corpus.questions)} questions")
        return self._corpus

    # --- ours ---------------------------------------------------------------------------------------
    def embedder(self):
        """One warm SentenceTransformerEmbedder shared by every service the harness opens (loading the
        model is measured by the cold-start section, not by ingest or query)."""
        if self._embedder is None:
            from index.embeddings import SentenceTransformerEmbedder

            self._embedder = SentenceTransformerEmbedder(threads=self.options.threads)
            self._embedder.embed(["warm up"])
        return self._embedder

    def open_service(self, home: Path):
        import qa

        return qa.open(home=home, embedder=self.embedder(), **self.overrides())

    def set_service(self, service) -> None:
        self._service = service

    def service(self):
        """A service whose collection `bench` holds the corpus (from the ingest section, else built now)."""
        if self._service is None:
            service = self.open_service(self.new_dir("ours"))
            service.ingest([self.corpus.folder], collection=COLLECTION)
            self._service = service
        return self._service

    # --- the raw reference ----------------------------------------------------------------------
    def raw_model(self):
        """sentence-transformers loaded directly, from the same folder, with the same thread count."""
        if self._raw_model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.options.threads)
            self._raw_model = SentenceTransformer(self.embedder().model_path, device="cpu", local_files_only=True)
            self._raw_model.encode(["warm up"], show_progress_bar=False)
        return self._raw_model

    def raw_index(self):
        if self.raw_collection is None:
            from bench.ingest import raw_ingest

            self.raw_collection = raw_ingest(self.raw_model(), self.corpus.chunk_texts, self.new_dir("raw"))
        return self.raw_model(), self.raw_collection

    # --- the `qa` command ------------------------------------------------------------------------
    def cli_home(self) -> Path:
        """A home whose `bench` collection `qa ingest` built in a child process (its peak RSS is kept)."""
        if self._cli_home is None:
            home = self.new_dir("cli")
            result = run_child([python(), str(APP), "ingest", str(self.corpus.folder), "--json"], self.child_env(home))
            if result.returncode != 0:
                raise RuntimeError(f"qa ingest failed ({result.returncode}): {result.stderr[-2000:]}")
            self.cli_ingest, self._cli_home = result, home
        return self._cli_home

    def cleanup(self) -> None:
        if self.options.keep:
            log(f"kept {self.root}")
            return
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


def cpu_threads_note(threads: int) -> str:
    return f"torch and llama.cpp threads: {threads} on every side (os.cpu_count() = {os.cpu_count()})"
