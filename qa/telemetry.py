"""Prometheus metrics of one HTTP app (GET /metrics): requests, answer latency per stage, refusals, generator
errors, ingests and collection sizes.

Each app has its own `CollectorRegistry` (not prometheus_client's global one), so several apps in one process
(tests, embedding programs) never count into each other. The request middleware (qa/http/logging.py) feeds
it: every request, and every answer, generator failure and ingest the request's work reported (qa/trace.py).
Collection sizes are read from the service when scraped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from qa.errors import QAError

if TYPE_CHECKING:  # pragma: no cover
    from index.ingest import IngestReport
    from qa.answers import Answer

# seconds; answers take from milliseconds (extractive) to a minute (a local model on a slow CPU)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
STAGES = ("retrieve", "generate", "verify", "total")  # the stages of Answer.timings_ms


class Metrics:
    def __init__(self, service):
        self.service = service
        self.registry = r = CollectorRegistry()
        self.requests = Counter("groundqa_http_requests", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("groundqa_http_request_duration_seconds", "HTTP request duration by route.",
                                         ["route"], buckets=STAGE_BUCKETS, registry=r)
        self.stage_seconds = Histogram("groundqa_ask_stage_seconds",
                                       "Answer latency per stage (retrieve, generate, verify, total) and generator. "
                                       "generate is observed only when the generator ran.",
                                       ["stage", "generator"], buckets=STAGE_BUCKETS, registry=r)
        self.answers = Counter("groundqa_answers", "Answers given, by generator and whether they were refusals.",
                               ["generator", "refused"], registry=r)
        self.refusals = Counter("groundqa_refusals", "Refusals by refusal_reason (qa/decisions.py).", ["reason"],
                                registry=r)
        self.generator_errors = Counter("groundqa_generator_errors", "Generator failures by generator and error code.",
                                        ["generator", "code"], registry=r)
        self.ingest_chunks = Counter("groundqa_ingest_chunks", "Chunks embedded and written by ingests.",
                                     ["collection"], registry=r)
        self.ingest_failures = Counter("groundqa_ingest_failures", "Files an ingest could not read (skipped).",
                                       ["collection"], registry=r)
        r.register(_CollectionSizes(service))

    # --- what the request middleware reports ------------------------------------------------------------
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def answered(self, answer: "Answer") -> None:
        for stage in STAGES:
            ms = answer.timings_ms.get(stage)
            if ms is not None and (stage != "generate" or answer.raw_answer):
                self.stage_seconds.labels(stage, answer.generator).observe(ms / 1000)
        self.answers.labels(answer.generator, "true" if answer.refused else "false").inc()
        if answer.refused:
            self.refusals.labels(answer.refusal_reason or "unknown").inc()

    def generator_failed(self, generator: str, error: BaseException) -> None:
        code = error.code if isinstance(error, QAError) else type(error).__name__
        self.generator_errors.labels(generator, code).inc()

    def ingested(self, report: "IngestReport") -> None:
        self.ingest_chunks.labels(report.collection).inc(report.chunks)
        self.ingest_failures.labels(report.collection).inc(report.failed)

    def exposition(self) -> bytes:
        """The Prometheus text format of everything above (collection sizes read now)."""
        return generate_latest(self.registry)


class _CollectionSizes:
    """groundqa_collection_chunks{collection} and groundqa_store_up: read from the service at each scrape
    (an unreachable store gives store_up 0 and no sizes, never a failed scrape)."""

    def __init__(self, service):
        self.service = service

    def describe(self) -> list:
        return []  # sizes are read at collect time only, never at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("groundqa_collection_chunks", "Chunks stored per collection.", labels=["collection"])
        try:
            sizes = self.service.collection_sizes()
        except QAError:
            sizes = None
        for name, size in sorted((sizes or {}).items()):
            family.add_metric([name], size)
        yield family
        yield GaugeMetricFamily("groundqa_store_up", "1 when the store answered the last scrape, else 0.",
                                value=0 if sizes is None else 1)
