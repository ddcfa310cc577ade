"""Query latency.

- Retrieval p50/p95 of `service.retriever.retrieve` (the configured default) and, when the service
  offers them, of each retrieval mode, against the raw path: `SentenceTransformer.encode` of the
  question plus a raw Chroma `query` over the same chunks, same k. Interleaved question by question.
- End-to-end `Service.ask` latency per generator (extractive, local), and llama-index's query engine
  (retrieve + synthesize with the same local model) over the same Chroma collection as the peer."""

from __future__ import annotations

import time

from bench.common import Section, log, median, percentile
from bench.context import COLLECTION, Context

WARMUP = 3


def _modes(service) -> dict[str, object]:
    """The default retriever, plus one per retrieval mode."""
    from qa.config import RETRIEVAL_MODES

    return {"default": service.retriever, **{mode: service.retriever_for(mode) for mode in RETRIEVAL_MODES}}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def retrieval(ctx: Context, s: Section) -> None:
    service = ctx.service()
    model, raw = ctx.raw_index()
    k = service.config.top_k
    questions = ctx.corpus.questions[: ctx.options.queries]
    retrievers = _modes(service)
    default_mode = service.config.retrieval

    def raw_query(q: str):
        v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return raw.query(query_embeddings=v, n_results=k)

    for q in questions[:WARMUP]:  # caches, lazy opens, first-call costs
        raw_query(q)
        for r in retrievers.values():
            r.retrieve(q, COLLECTION, k)
    times: dict[str, list[float]] = {name: [] for name in retrievers}
    times["raw"] = []
    for i, q in enumerate(questions):
        order = list(retrievers.items())
        if i % 2:  # alternate who goes first
            times["raw"].append(_timed(lambda: raw_query(q)))
        for name, r in order:
            times[name].append(_timed(lambda: r.retrieve(q, COLLECTION, k)))
        if not i % 2:
            times["raw"].append(_timed(lambda: raw_query(q)))
    s.put("queries", len(questions))
    s.put("top_k", k)
    if default_mode:
        s.notes.append(f"default retrieval mode: {default_mode}")
    for name, xs in times.items():
        s.put(f"retrieve_{name}_p50_ms", median(xs), "ms", xs)
        s.put(f"retrieve_{name}_p95_ms", percentile(xs, 95), "ms")
    s.compare("retrieval p50 vs raw", "retrieve_default_p50_ms", "retrieve_raw_p50_ms", "lower", ("<=", 1.2))
    s.compare("retrieval p95 vs raw", "retrieve_default_p95_ms", "retrieve_raw_p95_ms", "lower")
    for name in retrievers:
        if name != "default":
            s.compare(f"retrieval p50 ({name}) vs raw", f"retrieve_{name}_p50_ms", "retrieve_raw_p50_ms", "lower")


def asks(ctx: Context, s: Section) -> None:
    service = ctx.service()
    questions = ctx.corpus.questions[: ctx.options.asks]
    peer = None
    try:
        from evals.datasets import Example
        from evals.systems import LlamaIndexSystem

        peer = LlamaIndexSystem(service, COLLECTION, service.config.top_k)
    except ImportError as exc:
        s.notes.append(f"llama-index unavailable ({exc}): no peer baseline for ask")
    generators = ["extractive", "local"]
    warm = questions[0]
    for g in generators:  # load models outside the timings
        service.ask(warm, COLLECTION, generator=g)
    if peer:
        peer.predict(Example("warm", warm, [], False, []))
    times: dict[str, list[float]] = {g: [] for g in generators}
    times["llamaindex"] = []
    for i, q in enumerate(questions):
        log(f"ask {i + 1}/{len(questions)}")
        for g in generators:
            times[g].append(_timed(lambda: service.ask(q, COLLECTION, generator=g)))
        if peer:
            times["llamaindex"].append(_timed(lambda: peer.predict(Example(f"q{i}", q, [], False, []))))
    s.put("asks", len(questions))
    for name, xs in times.items():
        if xs:
            s.put(f"ask_{name}_p50_ms", median(xs), "ms", xs)
            s.put(f"ask_{name}_p95_ms", percentile(xs, 95), "ms")
    if times["llamaindex"]:
        s.compare("ask (local) vs llama-index", "ask_local_p50_ms", "ask_llamaindex_p50_ms", "lower", ("<", 1.0),
                  against="llama-index")


def run(ctx: Context) -> Section:
    s = Section("query")
    retrieval(ctx, s)
    asks(ctx, s)
    return s
