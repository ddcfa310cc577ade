"""What happened inside one answer, for the people who run groundqa.

- `Trace`: the record of one answer (`qa ask --trace`, `"trace": true` in POST /v1/ask): the retrieved chunk
  ids with their dense, BM25 and fused scores, the hops, the refusal decision (its features, probability,
  rule and reason), each sentence's support and reason, the generator's raw text and the time per stage.
- `Recorder`: what `Service.ask_stream` fills at its stage boundaries. It builds the Trace only when asked,
  emits OpenTelemetry spans (ask > retrieve, decide, generate, verify) only when `Config.otel_endpoint`
  (OTEL_EXPORTER_OTLP_ENDPOINT) is set and `opentelemetry-sdk` is installed, and tells the observers of the
  current context (the HTTP request log and metrics, qa/http/logging.py) what was answered. Off, it costs a
  context-variable read per answer.
- `observing(observer)`: makes an `Observer` hear about every answer, generator failure and ingest made in
  this context (worker threads started with the context copied included).

OpenTelemetry is imported lazily, only when spans are switched on: `import qa` never loads it.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from index.ingest import IngestReport
    from qa.answers import Answer
    from qa.config import Config
    from qa.grounding import Decision

log = logging.getLogger("groundqa.trace")

STAGES = ("retrieve", "decide", "generate", "verify")  # in the order ask_stream runs them


@dataclass
class Trace:
    answer_id: str
    collection: str
    generator: str
    retrieval: str  # hybrid | dense | bm25 (and the fusion for hybrid: "hybrid/relative")
    passages: list[dict]  # [{"n", "chunk_id", "doc_id", "source", "dense", "bm25", "fused", "cited"}], rank order
    hops: list[dict]
    decision: dict  # {"answerable", "probability", "rule", "reason", "unmentioned", "features"}
    sentences: list[dict]  # [{"text", "support", "supported", "relevant", "reason", "citations", "chunk_ids"}]
    citations: list[dict]  # [{"n", "chunk_id", "passage", "start", "end"}]
    raw_text: str  # what the generator wrote, before verification
    fallback: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)  # retrieve, decide, generate, verify, total

    def to_dict(self) -> dict:
        return {
            "answer_id": self.answer_id, "collection": self.collection, "generator": self.generator,
            "retrieval": self.retrieval, "passages": self.passages, "hops": self.hops, "decision": self.decision,
            "sentences": self.sentences, "citations": self.citations, "raw_text": self.raw_text,
            "fallback": self.fallback, "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }

    def to_text(self) -> str:
        """The trace for a terminal (`qa ask --trace`)."""
        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.3f}"

        d = self.decision
        lines = [f"Trace {self.answer_id} ({self.generator}, {self.retrieval} retrieval, collection {self.collection})",
                 "Retrieved (dense cosine, BM25, fused; * = cited):"]
        lines += [f"  {'*' if p['cited'] else ' '}[{p['n']}] {p['chunk_id']}  dense {num(p['dense'])}  "
                  f"bm25 {num(p['bm25'])}  fused {num(p['fused'])}  {p['source']}" for p in self.passages]
        lines += [f"  hop: {h['query']!r} via {h['bridge']!r} added {h['passages']}" for h in self.hops[1:]]
        lines.append(f"Decision: {'answer' if d['answerable'] else 'refuse'} (p={d['probability']:.3f}"
                     + (f", rule {d['rule']}" if d["rule"] else "") + (f", reason {d['reason']}" if d["reason"] else "")
                     + ")  features: " + ", ".join(f"{k}={v:g}" for k, v in d["features"].items()))
        if self.raw_text:
            lines.append(f"Generator wrote: {self.raw_text!r}")
        if self.fallback:
            lines.append(f"Fallback: {self.fallback} (nothing the generator wrote was kept as the answer; the "
                         "sentences below are the passages' own)")
        for s in self.sentences:
            lines.append(f"  {'kept' if s['supported'] and s['relevant'] else 'cut '} support {s['support']:.3f} "
                         f"{s['reason'] or '-'}: {s['text']!r} -> {s['chunk_ids']}")
        lines.append("Timings (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in self.timings_ms.items()))
        return "\n".join(lines)

    def chunk_ids(self) -> list[str]:
        """The retrieved chunk ids, best first."""
        return [p["chunk_id"] for p in self.passages]


def _score(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def build_trace(answer: "Answer", decision: "Decision", timings_ms: dict[str, float], retrieval: str) -> Trace:
    cited = {c.chunk_id for c in answer.citations}
    by_n = {c.n: c.chunk_id for c in answer.citations}
    passages = [{"n": p.n, "chunk_id": p.chunk_id, "doc_id": p.doc_id, "source": p.source,
                 "dense": _score(p.scores.get("dense", p.score)), "bm25": _score(p.scores.get("bm25")),
                 "fused": _score(p.scores.get("fused")), "cited": p.chunk_id in cited} for p in answer.passages]
    return Trace(
        answer_id=answer.answer_id, collection=answer.collection, generator=answer.generator, retrieval=retrieval,
        passages=passages, hops=list(answer.hops),
        decision={"answerable": decision.answerable, "probability": round(float(decision.probability), 4),
                  "rule": decision.rule, "reason": answer.refusal_reason, "unmentioned": list(decision.unmentioned),
                  "features": {k: round(float(v), 4) for k, v in decision.features.items()}},
        sentences=[{**s.to_dict(), "chunk_ids": [by_n[n] for n in s.citations if n in by_n]} for s in answer.sentences],
        citations=[{"n": c.n, "chunk_id": c.chunk_id, "passage": c.passage, "start": c.start, "end": c.end}
                   for c in answer.citations],
        raw_text=answer.raw_answer, fallback=answer.fallback, timings_ms=dict(timings_ms),
    )


# --- observers: who hears about answers in this context ---------------------------------------------------
class Observer(Protocol):
    def answered(self, answer: "Answer") -> None: ...

    def generator_failed(self, generator: str, error: BaseException) -> None: ...

    def ingested(self, report: "IngestReport") -> None: ...


_observers: ContextVar[tuple[Observer, ...]] = ContextVar("groundqa_observers", default=())


@contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """Within the block (and threads that copy its context), `observer` hears of answers, failures, ingests."""
    token = _observers.set(_observers.get() + (observer,))
    try:
        yield observer
    finally:
        _observers.reset(token)


def _notify(method: str, *args: Any) -> None:
    for observer in _observers.get():
        try:
            getattr(observer, method)(*args)
        except Exception:  # an observer never breaks an answer
            log.exception("observer %r failed in %s", observer, method)


def ingested(report: "IngestReport") -> "IngestReport":
    """Tell the observers of this context about an ingest; returns the report."""
    _notify("ingested", report)
    return report


# --- OpenTelemetry (optional) -----------------------------------------------------------------------------
_otel_lock = threading.Lock()


def otel_tracer(endpoint: str | None):
    """The OpenTelemetry tracer for groundqa's spans, or None when spans are off (no endpoint, or no
    `opentelemetry-sdk`). When the process has no SDK tracer provider yet, one exporting over OTLP to the
    endpoint (OTEL_EXPORTER_OTLP_* variables, read by the exporter) is installed once."""
    if not endpoint:
        return None
    try:
        from opentelemetry import trace as otel
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None
    with _otel_lock:
        if not isinstance(otel.get_tracer_provider(), TracerProvider):  # nobody configured one: export to the endpoint
            exporter = _otlp_exporter()
            if exporter is None:
                return None
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(resource=Resource.create({"service.name": "groundqa"}))
            provider.add_span_processor(BatchSpanProcessor(exporter))
            otel.set_tracer_provider(provider)
    return otel.get_tracer("groundqa")


def _otlp_exporter():
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but no OTLP exporter is installed: "
                        "pip install 'groundqa[otel]' (opentelemetry-exporter-otlp) to send spans.")
            return None
    return OTLPSpanExporter()


# --- the recorder ask_stream fills --------------------------------------------------------------------------
class Recorder:
    """One answer's stage boundaries. `Service.ask_stream` makes one per question, wraps the generator's
    stream in `generating`, and calls `finish` with the answer and its perf_counter marks."""

    def __init__(self, config: "Config", collection: str, generator: str, *, trace: bool = False):
        self.config = config
        self.collection = collection
        self.generator = generator
        self.trace = trace
        self.tracer = otel_tracer(config.otel_endpoint)
        self.wall0, self.t0 = time.time_ns(), time.perf_counter()  # to place perf_counter marks on the wall clock

    def generating(self, stream: Callable[..., Iterable[str]], *args: Any) -> Iterator[str]:
        """`stream(*args)` (the generator's stream), unchanged; a failure, whether on the call or mid-stream, is
        reported (metrics, an error span) and re-raised."""
        start = time.perf_counter()
        try:
            yield from stream(*args)
        except Exception as exc:
            _notify("generator_failed", self.generator, exc)
            if self.tracer is not None:
                self._spans({"generate": (start, time.perf_counter())}, start_attrs={}, error=exc)
            raise

    def finish(self, answer: "Answer", decision: "Decision", t0: float, t1: float, td: float, t2: float,
               t3: float) -> "Answer":
        marks = {"retrieve": (t0, t1), "decide": (t1, td), "generate": (td, t2), "verify": (t2, t3)}
        if self.trace or self.tracer is not None:
            timings = {s: (b - a) * 1000 for s, (a, b) in marks.items()}
            timings["generate"] = answer.timings_ms.get("generate", timings["generate"])  # 0 when nothing generated
            timings["total"] = (t3 - t0) * 1000
            if self.trace:
                c = self.config
                retrieval = f"{c.retrieval}/{c.fusion}" if c.retrieval == "hybrid" else c.retrieval
                answer.trace = build_trace(answer, decision, timings, retrieval)
            if self.tracer is not None:
                if not answer.raw_answer:
                    marks.pop("generate")
                self._spans(marks, start_attrs={"groundqa.answer_id": answer.answer_id,
                                                "groundqa.refused": answer.refused,
                                                "groundqa.refusal_reason": answer.refusal_reason or "",
                                                "groundqa.passages": len(answer.passages),
                                                "groundqa.citations": len(answer.citations)})
        _notify("answered", answer)
        return answer

    def _wall(self, t: float) -> int:
        return self.wall0 + int((t - self.t0) * 1e9)

    def _spans(self, marks: dict[str, tuple[float, float]], start_attrs: dict, error: BaseException | None = None):
        """The ask span and one child span per stage, placed at the recorded times."""
        from opentelemetry import trace as otel
        from opentelemetry.trace import Status, StatusCode

        end = max(b for _, b in marks.values())
        parent = self.tracer.start_span("groundqa.ask", start_time=self._wall(self.t0), attributes={
            "groundqa.collection": self.collection, "groundqa.generator": self.generator,
            "groundqa.retrieval": self.config.retrieval, **start_attrs})
        context = otel.set_span_in_context(parent)
        for name, (a, b) in marks.items():
            span = self.tracer.start_span(f"groundqa.{name}", context=context, start_time=self._wall(a))
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end(end_time=self._wall(b))
        if error is not None:
            parent.set_status(Status(StatusCode.ERROR, type(error).__name__))
        parent.end(end_time=self._wall(end))
