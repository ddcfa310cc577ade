"""Per-request telemetry: an ASGI middleware that counts every HTTP request into the app's metrics
(qa/telemetry.py) and, with GROUNDQA_LOG=json, writes one JSON line per request to stderr (logger
`groundqa.requests`):

    {"time": "2026-12-01T06:40:00.123Z", "method": "POST", "route": "/v1/ask", "path": "/v1/ask", "status": 200,
     "duration_ms": 412.5, "answer_id": "8a74815e47e02c24", "refused": false, "refusal_reason": null,
     "generator": "local", "collection": "default", "timings_ms": {"retrieve": ..., "generate": ..., ...}}

The answer fields are null for requests that answered nothing. The question text is never written unless
GROUNDQA_LOG_QUESTIONS=1 (then as "question"). The middleware learns what a request answered through
qa/trace.py's observers (the service reports each answer, generator failure and ingest to the observers of
the request's context), so it never parses bodies.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import Any

from qa.errors import QAError
from qa.telemetry import Metrics
from qa.trace import observing

log = logging.getLogger("groundqa.requests")


class RequestRecord:
    """What one request's work reported (a qa.trace.Observer). Closed when the request ends: a task that
    outlives the request with its context copied (a background queue started by it) adds nothing more."""

    def __init__(self):
        self.answers: list = []
        self.failures: list[tuple[str, BaseException]] = []
        self.ingests: list = []
        self.closed = False

    def answered(self, answer) -> None:
        if not self.closed:
            self.answers.append(answer)

    def generator_failed(self, generator: str, error: BaseException) -> None:
        if not self.closed:
            self.failures.append((generator, error))

    def ingested(self, report) -> None:
        if not self.closed:
            self.ingests.append(report)


class RequestTelemetry:
    """ASGI middleware: metrics for every HTTP request, and the JSON request log when it is on."""

    def __init__(self, app, *, metrics: Metrics, log_json: bool = False, log_questions: bool = False):
        self.app = app
        self.metrics = metrics
        self.log_json = log_json
        self.log_questions = log_questions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        record = RequestRecord()
        status = 500  # what a request that raised past every handler ends as
        start = time.perf_counter()

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with observing(record):
                await self.app(scope, receive, sending)
        finally:
            self._done(scope, record, status, time.perf_counter() - start)

    def _done(self, scope, record: RequestRecord, status: int, seconds: float) -> None:
        record.closed = True
        route = _route(scope, status)
        m = self.metrics
        m.request(route, scope["method"], status, seconds)
        for answer in record.answers:
            m.answered(answer)
        for generator, error in record.failures:
            m.generator_failed(generator, error)
        for report in record.ingests:
            m.ingested(report)
        if self.log_json:
            log.info(json.dumps(self.line(scope, route, status, seconds, record), ensure_ascii=False))

    def line(self, scope, route: str, status: int, seconds: float, record: RequestRecord) -> dict[str, Any]:
        answer = record.answers[-1] if record.answers else None
        out: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": scope["method"], "route": route, "path": scope["path"], "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "answer_id": answer.answer_id if answer else None,
            "refused": answer.refused if answer else None,
            "refusal_reason": answer.refusal_reason if answer else None,
            "generator": answer.generator if answer else None,
            "collection": answer.collection if answer else None,
            "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()} if answer else None,
        }
        if record.failures:
            error = record.failures[-1][1]
            out["generator_error"] = error.code if isinstance(error, QAError) else type(error).__name__
        if record.ingests:
            out["ingested_chunks"] = sum(r.chunks for r in record.ingests)
        if self.log_questions and answer is not None:
            out["question"] = answer.question
        return out


def _route(scope, status: int) -> str:
    """The route's path template (`/v1/documents/{doc_id}`, never the id itself), so labels stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return path
    return "unmatched" if status == 404 else "ui" if not scope["path"].startswith("/v1/") else "other"


_STDERR = logging.StreamHandler(sys.stderr)
_STDERR.setFormatter(logging.Formatter("%(message)s"))


def _log_to_stderr() -> None:
    """One JSON line per record on stderr (not through the root logger's format); idempotent."""
    if _STDERR not in log.handlers:
        log.addHandler(_STDERR)
    log.setLevel(logging.INFO)
    log.propagate = False


def install_telemetry(app, service) -> Metrics:
    """Give `app` its own metrics (app.state.metrics, served by GET /metrics) and the request middleware."""
    config = service.config
    app.state.metrics = metrics = Metrics(service)
    if config.log == "json":
        _log_to_stderr()
    app.add_middleware(RequestTelemetry, metrics=metrics, log_json=config.log == "json",
                       log_questions=config.log_questions)
    return metrics
