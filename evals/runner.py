"""One eval run: load the dataset, index its documents into a collection of their own, ask every
system every question, and score the predictions."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from evals import metrics as M
from evals.datasets import (
    DOCS_DOCUMENTS, Dataset, Example, clapnq, compare_dataset, docs_dataset, docs_documents, load_documents, musique, read_jsonl, seed_dataset,
    seed_documents, select_split,
)
from evals.progress import ProgressBar
from evals.splits import check_split
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
    split: str | None = None  # tune, test or all; None: the dataset's default (see default_split)
    generator: str | None = None
    systems: str = "bm25,dense,hybrid,groundqa"
    predictions: str | None = None
    top_k: int | None = None
    home: str | None = None
    threads: int | None = None
    without: str = ""  # rule/feature/heuristic names switched off (qa/decisions.py), comma-separated


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


HELD_OUT = ("clapnq", "musique", "docs", "compare")  # built-in sets whose `qa eval` default is their test split


def default_split(spec: str, all: bool = False) -> str:
    """`test` for clapnq, musique and docs; `all` for seed, a JSONL file, and whenever `all` is set."""
    return "test" if spec in HELD_OUT and not all else "all"


def load_dataset(spec: str, docs: str | None = None, limit: int | None = None, all: bool = False,
                 split: str | None = None) -> Dataset:
    """`seed`, `clapnq`, `musique`, `docs` or the path of a JSONL file (whose documents come from `docs`).

    `split` (tune, test or all; None: `default_split`) picks the questions first, then `limit` takes a
    balanced subset of them (unless `all`). The documents never depend on the split, so the eval
    collection is shared by every split. A JSONL file without any "split" field is unsplit: every split
    holds all its questions; once a line has one, the lines without one are `tune`."""
    split = check_split(split if split is not None else default_split(spec, all))

    def pick(examples: list[Example]) -> list[Example]:
        chosen = select_split(examples, split)
        if not chosen:
            raise InvalidInput(f"Dataset {spec!r} has no questions in split {split!r}. Pick another --split, "
                               "or --split all.")
        return balanced(chosen, None if all else limit)

    if spec == "seed":
        documents = load_documents([docs]) if docs else seed_documents()
        return Dataset("seed", pick(seed_dataset()), documents, split)
    if spec == "clapnq":
        examples, documents = clapnq(docs, all=True)
        return Dataset("clapnq", pick(examples), documents, split)
    if spec == "musique":
        if docs:
            raise InvalidInput("--docs does not apply to --dataset musique: its questions and paragraphs are "
                               "in evals/data/musique. Leave --docs out.")
        examples, documents = musique()
        return Dataset("musique", pick(examples), documents, split)
    if spec == "compare":
        if docs:
            raise InvalidInput("--docs does not apply to --dataset compare: it asks about the MuSiQue paragraphs "
                               "in evals/data/musique. Leave --docs out.")
        _, documents = musique()
        return Dataset("compare", pick(compare_dataset()), documents, split, corpus="musique")
    if spec == "docs":
        if docs:
            raise InvalidInput("--docs does not apply to --dataset docs: its documents are "
                               f"{DOCS_DOCUMENTS}. Leave --docs out.")
        return Dataset("docs", pick(docs_dataset()), docs_documents(), split)
    path = Path(spec)
    if not path.suffix and not path.exists():
        raise InvalidInput(f"Unknown dataset {spec!r}. Use `--dataset seed`, `--dataset clapnq`, `--dataset musique`, "
                           "`--dataset docs` or the path of a JSONL file with --docs pointing at its documents.")
    examples, has_split = read_jsonl(path, "tune")
    if not docs:
        raise InvalidInput(f"--docs is required with a dataset file ({spec}): pass the file or folder of "
                           "documents its questions are about, e.g. `--docs seeds/`.")
    if not Path(docs).exists():
        raise PathNotFound(f"Documents not found: {docs}. Pass an existing file or folder with --docs.")
    chosen = pick(examples) if has_split else balanced(examples, None if all else limit)
    return Dataset(path.stem, chosen, load_documents([docs]), split)


# --- indexing -------------------------------------------------------------------------------------
def ensure_indexed(service, dataset: Dataset, progress: bool = True) -> str:
    """Index the dataset's documents into its own collection; reuse it when it already holds exactly them."""
    name = dataset.collection
    want = {(d.source, d.id) for d in dataset.documents}
    if name in service.collections():
        have = {(d.source, d.doc_id) for d in service.documents(name)}
        if have == want:
            return name
    bar = ProgressBar(len(dataset.documents), f"index {dataset.name}") if progress else None
    service.ingest_documents(dataset.documents, name, (lambda i, n, s: bar.update(1)) if bar else None)
    return name


# --- systems --------------------------------------------------------------------------------------
def build_system(name: str, service, collection: str, top_k: int) -> System:
    if name in RETRIEVAL_MODES:
        return RetrievalSystem(service, collection, name)
    if name == "llamaindex":
        return LlamaIndexSystem(service, collection, top_k)
    return GroundQASystem(service, collection, name.split(":", 1)[1], top_k)


def score(examples: Sequence[Example], predictions: Sequence[Prediction], scorer: M.SupportScorer,
          documents: dict[str, str], top_k: int, answers: bool, check=None) -> dict[str, M.MetricResult]:
    passages = {p.example_id: p.passages for p in predictions if p.passages}
    out: dict[str, M.MetricResult] = {}
    if passages:
        for k in sorted({1, top_k}):
            out[f"hit@{k}"] = M.hit_at_k(examples, passages, k)
        out["mrr@10"] = M.mrr_at_k(examples, passages, 10)
    if answers:
        given = {p.example_id: p.answer for p in predictions}
        out.update(M.answer_correctness(examples, given))
        out["short_answer_exact"] = M.short_answer_exact(examples, given)
        out["short_answer_correct"] = M.short_answer_correct(examples, given)
        out.update(M.gold_citations(examples, given, documents))  # judged against the dataset's evidence
        out["quote_exact"] = M.quote_exactness(examples, given, documents)
        out["refusal_accuracy"] = M.refusal_accuracy(examples, given)
        out["false_refusal"] = M.false_refusal_rate(examples, given)
        out["markup_free"] = M.markup_free(examples, given)
        out["sentences_are_quotes"] = M.sentences_are_quotes(examples, given)
        if check is not None:
            out["contradicted"] = M.contradicted(examples, given, documents, check)
        # judged by the pipeline's own support scorer: named so, never the headline
        self_judged = M.citation_quality(examples, given, scorer)
        out["self_citation_recall"] = self_judged["citation_recall"]
        out["self_citation_precision"] = self_judged["citation_precision"]
        out["self_grounding"] = M.grounding_share(examples, given, passages, scorer)
    out.update(M.latency(examples, {p.example_id: p.timings_ms for p in predictions}))
    return out


def run_eval(options: EvalOptions, service=None, progress: bool = True,
             log: Callable[[str], None] | None = None) -> EvalRun:
    import qa

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t_start = time.perf_counter()
    dataset = load_dataset(options.dataset, options.docs, options.limit, options.all, options.split)
    options = replace(options, split=dataset.split)  # the report records the split actually used
    if service is None:
        service = qa.open(home=options.home, generator=options.generator, top_k=options.top_k, threads=options.threads,
                          without=options.without or None)
    elif options.without:
        service = service.variant(without=options.without)
    top_k = options.top_k or service.config.top_k
    names = [] if options.predictions and options.systems == "" else parse_systems(options.systems, service.config.generator)
    log(f"dataset {dataset.name} (split {dataset.split}): {len(dataset.examples)} questions "
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
        metrics = score(dataset.examples, preds, scorer, documents, top_k, system.answers, service.check_claim)
        run.systems.append(SystemRun(system.name, system.answers, preds, metrics, seconds))
    run.seconds = time.perf_counter() - t_start
    return run
