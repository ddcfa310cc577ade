"""What the linguistic layer (index/linguistics.py: spaCy sentences, entities, lemmas, relations) costs.

The layer annotates a passage lazily, the first time an answer needs it, and keeps the annotation in the
collection's manifest (qa/service.py passes it as the annotation store); nothing is parsed at ingest. Both
placements are measured, each against a reference run in this process (interleaved, order alternating):

- ingest: chunks/s of `Service.ingest` (today: no annotation) against the same ingest followed by annotating
  every chunk into a manifest-like store (`Annotator.annotate_many(chunk_texts, store=Manifest(...))`): what
  annotating at ingest would cost. The annotator keeps no LRU (cache_size=0) and each run gets a fresh store,
  so every run parses every chunk; loading spaCy happens before any timing.
- first retrieval (the lazy placement): per question, the ms to annotate its top-k passages the first time
  (parsed, stored) and again (read back from the store).
- asks on the seed article and its questions: `Service.ask` p50 with the layer (the product) against
  `service.variant(without=...)` with the layer's switchable units off (relation checks, multi-hop, the
  unmentioned-entity rule, the entity and short-answer features, short answers). What stays on in the
  reference: the question's own parse (entities) and the sentence parse behind the short-answer feature,
  which `without` does not switch off, so the ratio is a lower bound of the layer's cost. A first pass asks
  every question once with each (the layer's side first: its times are the "first ask" figures, lazy
  annotation included); the timed pass then sees every passage annotated, as a collection does after use.
  Local asks (the first LOCAL_ASKS questions, already seen by the extractive passes) are timed once each side.
  Refusals are decided before generation, so a refused question costs no generation at all
  (`timings_ms.generate` is 0); the refused share is reported."""

from __future__ import annotations

import time

from bench.common import Section, Stopwatch, log, median, percentile
from bench.context import Context

LAYER_UNITS = ("relations", "multi_hop", "unmentioned", "missing_salient", "answer_found", "short_answer")
INGEST_CHUNKS = 300  # chunks of the bench corpus ingested per run (quick: the whole quick corpus)
COLLECTION = "seed"
LOCAL_ASKS = {False: 6, True: 1}  # local asks per side (generation is slow on 2 shared cores); by --quick


def _ms(fn):
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def _ingest_subset(ctx: Context):
    """The first documents of the corpus holding about INGEST_CHUNKS chunks, as a folder of .txt files."""
    from index.chunking import chunk_document
    from qa.config import Config

    corpus, chunk_chars, overlap = ctx.corpus, Config().chunk_chars, 1  # the Indexer's defaults
    folder = ctx.new_dir("ling-docs")
    texts: list[str] = []
    limit = len(corpus.chunk_texts) if ctx.options.quick else INGEST_CHUNKS
    for i, d in enumerate(corpus.documents):
        if len(texts) >= limit:
            break
        texts += [c.text for c in chunk_document(d, chunk_chars, overlap)]
        (folder / f"{i:04d}.txt").write_text(d.text, encoding="utf-8")
    return folder, texts


def ingest(ctx: Context, s: Section) -> None:
    from index.linguistics import Annotator
    from index.manifest import Manifest

    folder, texts = _ingest_subset(ctx)
    annotator = Annotator(cache_size=0)
    annotator.annotate("Warm up the parser.")  # spaCy loads outside the timings
    plain, annotated, parse_only = [], [], []
    chunks = 0
    for r in range(ctx.options.runs):
        log(f"linguistics: ingest run {r + 1}/{ctx.options.runs} ({len(texts)} chunks)")
        order = ("plain", "annotated") if r % 2 == 0 else ("annotated", "plain")
        for side in order:
            service = ctx.open_service(ctx.new_dir("ling"))
            with Stopwatch() as w:
                report = service.ingest([folder], collection=COLLECTION)
                chunks = report.chunks
                if side == "annotated":
                    t0 = time.perf_counter()
                    annotator.annotate_many(texts, store=Manifest(ctx.new_dir("ling-ann") / "annotations.sqlite"))
                    parse_only.append(time.perf_counter() - t0)
            (plain if side == "plain" else annotated).append(w.seconds)
    s.put("ingest_chunks", chunks)
    s.put("ingest_plain_seconds", median(plain), "s", plain)
    s.put("ingest_annotated_seconds", median(annotated), "s", annotated)
    s.put("ingest_plain_chunks_per_s", chunks / median(plain), "chunks/s")
    s.put("ingest_annotated_chunks_per_s", chunks / median(annotated), "chunks/s")
    s.put("annotate_chunks_per_s", len(texts) / median(parse_only), "chunks/s", parse_only)
    s.compare("ingest, annotating at ingest vs not (today)", "ingest_annotated_chunks_per_s", "ingest_plain_chunks_per_s",
              "higher", (">=", 0.5), against="no annotation")


def _seed_service(ctx: Context):
    from evals.datasets import SEED_DOCS, seed_dataset

    service = ctx.open_service(ctx.new_dir("ling-seed"))
    service.ingest([SEED_DOCS], collection=COLLECTION)
    questions = list(dict.fromkeys(e.question for e in seed_dataset()))
    return service, questions


def first_retrieval(ctx: Context, s: Section, service, questions: list[str]) -> None:
    """The lazy placement's cost: annotating a question's top-k passages the first time, and reading them back."""
    from index.linguistics import Annotator
    from index.manifest import Manifest

    annotator = Annotator(cache_size=0)
    annotator.annotate("Warm up the parser.")
    store = Manifest(ctx.new_dir("ling-lazy") / "annotations.sqlite")
    k = service.config.top_k
    cold, warm, seen = [], [], set()  # cold: ms per passage parsed the first time
    for q in questions[: ctx.options.asks]:
        texts = [p.text for p in service.retriever.retrieve(q, COLLECTION, k)]
        new = [t for t in texts if t not in seen]
        seen.update(texts)
        if new:  # first retrieval of these passages: parsed and stored
            cold.append(_ms(lambda: annotator.annotate_many(new, store=store))[0] / len(new))
        warm.append(_ms(lambda: annotator.annotate_many(texts, store=store))[0])
    s.put("lazy_first_annotation_per_passage_ms", median(cold), "ms", cold)
    s.put("lazy_stored_annotation_per_question_ms", median(warm), "ms", warm)
    s.notes.append(f"lazy placement: a passage is parsed the first time a question retrieves it (~{median(cold):.0f} ms "
                   f"each, ~{k * median(cold):.0f} ms for a question whose top {k} are all new); read back from the "
                   f"store, a question's top {k} take ~{median(warm):.1f} ms")


def asks(ctx: Context, s: Section, service, questions: list[str]) -> None:
    reference = service.variant(without=",".join(LAYER_UNITS))
    plans = [("extractive", questions[: ctx.options.asks]), ("local", questions[: LOCAL_ASKS[ctx.options.quick]])]
    for generator, qs in plans:
        service.ask(qs[0], COLLECTION, generator=generator)  # load models outside the timings
        reference.ask(qs[0], COLLECTION, generator=generator)
        first = []
        for q in qs if generator == "extractive" else ():  # first pass: every passage annotated (the layer's side
            first.append(_ms(lambda: service.ask(q, COLLECTION, generator=generator))[0])  # first: its lazy cost)
            reference.ask(q, COLLECTION, generator=generator)
        ours, ref, refused, skipped_generation = [], [], 0, 0
        for i, q in enumerate(qs):
            log(f"linguistics: {generator} ask {i + 1}/{len(qs)}")
            sides = [("ours", service), ("ref", reference)]
            for name, svc in (sides if i % 2 == 0 else sides[::-1]):
                ms, answer = _ms(lambda: svc.ask(q, COLLECTION, generator=generator))
                (ours if name == "ours" else ref).append(ms)
                if name == "ours" and answer.refused:
                    refused += 1
                    skipped_generation += answer.timings_ms.get("generate", 0.0) == 0.0
        g = generator
        s.put(f"ask_{g}_asks", len(qs))
        if first:
            s.put(f"ask_{g}_first_p50_ms", median(first), "ms", first)
        s.put(f"ask_{g}_p50_ms", median(ours), "ms", ours)
        s.put(f"ask_{g}_p95_ms", percentile(ours, 95), "ms")
        s.put(f"ask_{g}_units_off_p50_ms", median(ref), "ms", ref)
        s.put(f"ask_{g}_refused_share", refused / len(qs))
        if refused:
            s.put(f"ask_{g}_refused_without_generation_share", skipped_generation / refused)
        target = (("<=", 1.5) if g == "extractive" else None)
        s.compare(f"ask p50 {g}: layer vs units off", f"ask_{g}_p50_ms", f"ask_{g}_units_off_p50_ms", "lower",
                  target, against="units off")
    s.notes.append(f"reference: service.variant(without={','.join(LAYER_UNITS)}); the question's parse and the "
                   "short-answer feature's parse stay on in it")


def run(ctx: Context) -> Section:
    s = Section("linguistics")
    ingest(ctx, s)
    service, questions = _seed_service(ctx)
    first_retrieval(ctx, s, service, questions)
    asks(ctx, s, service, questions)
    return s
