"""One eval run: load the dataset, index its documents into a collection of their own, ask every
system every question, and score the predictions."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from evals import metrics as M
from evals.datasets import (
    Dataset, Example, clapnq, load_documents, load_jsonl, seed_dataset, seed_documents,
)
from evals.progress import ProgressBar
from evals.systems import (
    GroundQASystem, LlamaIndexSystem, Prediction, PredictionsSystem, RetrievalSystem, System, parse_systems,
)
from qa.config import RETRIEVAL_MODES
from qa.errors import InvalidInput, PathNotFound


@dataclass
class EvalOptions:
    dataset: str = "seed"
    docs: str | None = None
    limit: int | None = None
    all: bool = False
    generator: str | None = None
    systems: str = "bm25,dense,hybrid,groundqa"
    predictions: str | None = None
    top_k: int | None = None
    home: str | None = None
    threads: int | None = None


@dataclass
class SystemRun:
    name: str
    answers: bool
    predictions: list[Prediction]
    metrics: dict[str, M.MetricResult]
    seconds: float


@dataclass
class EvalRun:
    options: EvalOptions
    dataset: Dataset
    collection: str
    top_k: int
    systems: list[SystemRun] = field(default_factory=list)
    index_seconds: float = 0.0
    seconds: float = 0.0
    started: str = ""
    support_threshold: float = 0.0
    calibration: str = ""


# --- datasets -------------------------------------------------------------------------------------
def balanced(examples: Sequence[Example], limit: int | None) -> list[Example]:
    """The first `limit` examples, half answerable and half unanswerable where the set allows."""
    if limit is None:
        return list(examples)
    if limit < 1:
        raise InvalidInput(f"--limit must be a positive number of questions, got {limit}.")
    yes = [e for e in examples if e.answerable]
    no = [e for e in examples if not e.answerable]
    n_no = min(len(no), limit // 2)
    n_yes = min(len(yes), limit - n_no)
    n_no = min(len(no), limit - n_yes)
    picked = {e.id for e in yes[:n_yes] + no[:n_no]}
    return [e for e in examples if e.id in picked]


def load_dataset(spec: str, docs: str | None = None, limit: int | None = None, all: bool = False) -> Dataset:
    """`seed`, `clapnq` or the path of a JSONL file (whose documents come from `docs`)."""
    if spec == "seed":
        documents = load_documents([docs]) if docs else seed_documents()
        return Dataset("seed", balanced(seed_dataset(), None if all else limit), documents)
    if spec == "clapnq":
        examples, documents = clapnq(docs, limit=limit, all=all)
        return Dataset("clapnq", examples, documents)
    path = Path(spec)
    if not path.suffix and not path.exists():
        raise InvalidInput(f"Unknown dataset {spec!r}. Use `--dataset seed`, `--dataset clapnq` "
                           "or the path of a JSONL file with --docs pointing at its documents.")
    examples = load_jsonl(path)
    if not docs:
        raise InvalidInput(f"--docs is required with a dataset file ({spec}): pass the file or folder of "
                           "documents its questions are about, e.g. `--docs seeds/`.")
    if not Path(docs).exists():
        raise PathNotFound(f"Documents not found: {docs}. Pass an existing file or folder with --docs.")
    return Dataset(path.stem, balanced(examples, None if all else limit), load_documents([docs]))


# --- indexing -------------------------------------------------------------------------------------
def ensure_indexed(service, dataset: Dataset, progress: bool = True) -> str:
    """Index the dataset's documents into its own collection; reuse it when it already holds exactly them."""
    name = dataset.collection
    want = {(d.source, d.id) for d in dataset.documents}
    if service.store.has_collection(name):
        have = {(d.source, d.doc_id) for d in service.documents(name)}
        if have == want:
            return name
    bar = ProgressBar(len(dataset.documents), f"index {dataset.name}") if progress else None
    service.indexer.ingest_documents(dataset.documents, name, (lambda i, n, s: bar.update(1)) if bar else None)
    return name


# --- systems --------------------------------------------------------------------------------------
def build_system(name: str, service, collection: str, top_k: int) -> System:
    if name in RETRIEVAL_MODES:
        return RetrievalSystem(service, collection, name)
    if name == "llamaindex":
        return LlamaIndexSystem(service, collection, top_k)
    return GroundQASystem(service, collection, name.split(":", 1)[1], top_k)


def score(examples: Sequence[Example], predictions: Sequence[Prediction], scorer: M.SupportScorer,
          documents: dict[str, str], top_k: int, answers: bool) -> dict[str, M.MetricResult]:
    passages = {p.example_id: p.passages for p in predictions if p.passages}
    out: dict[str, M.MetricResult] = {}
    if passages:
        for k in sorted({1, top_k}):
            out[f"hit@{k}"] = M.hit_at_k(examples, passages, k)
        out["mrr@10"] = M.mrr_at_k(examples, passages, 10)
    if answers:
        given = {p.example_id: p.answer for p in predictions}
        out.update(M.answer_correctness(examples, given))
        out.update(M.citation_quality(examples, given, scorer))
        out["quote_exact"] = M.quote_exactness(examples, given, documents)
        out["grounding"] = M.grounding_share(examples, given, passages, scorer)
        out["refusal_accuracy"] = M.refusal_accuracy(examples, given)
        out["false_refusal"] = M.false_refusal_rate(examples, given)
    out.update(M.latency(examples, {p.example_id: p.timings_ms for p in predictions}))
    return out


def run_eval(options: EvalOptions, service=None, progress: bool = True,
             log: Callable[[str], None] | None = None) -> EvalRun:
    import qa

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t_start = time.perf_counter()
    dataset = load_dataset(options.dataset, options.docs, options.limit, options.all)
    if service is None:
        service = qa.open(home=options.home, generator=options.generator, top_k=options.top_k, threads=options.threads)
    top_k = options.top_k or service.config.top_k
    names = [] if options.predictions and options.systems == "" else parse_systems(options.systems, service.config.generator)
    log(f"dataset {dataset.name}: {len(dataset.examples)} questions "
        f"({sum(e.answerable for e in dataset.examples)} answerable), {len(dataset.documents)} documents")
    t0 = time.perf_counter()
    collection = ensure_indexed(service, dataset, progress)
    run = EvalRun(options, dataset, collection, top_k, index_seconds=time.perf_counter() - t0,
                  started=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  support_threshold=service.grounder.calibration.support_threshold,
                  calibration=service.grounder.calibration.version)
    log(f"collection {collection} ready in {run.index_seconds:.1f}s (home {service.config.home})")
    scorer = M.SupportScorer(service.grounder)
    documents = {d.source: d.text for d in dataset.documents}
    systems: list[System] = [build_system(n, service, collection, top_k) for n in names]
    if options.predictions:
        systems.append(PredictionsSystem(options.predictions))
    for system in systems:
        t = time.perf_counter()
        bar = ProgressBar(len(dataset.examples), system.name) if progress else None
        preds = []
        for ex in dataset.examples:
            preds.append(system.predict(ex))
            if bar:
                bar.update(1)
        seconds = time.perf_counter() - t
        metrics = score(dataset.examples, preds, scorer, documents, top_k, system.answers)
        run.systems.append(SystemRun(system.name, system.answers, preds, metrics, seconds))
    run.seconds = time.perf_counter() - t_start
    return run
