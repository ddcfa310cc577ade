"""Operating the HTTP app: GET /metrics (Prometheus text), the JSON request log (GROUNDQA_LOG=json) and
`"trace": true`. The real app in process (FastAPI TestClient, no sockets) over a real Service and real
Chroma, with the hash embedder and scripted generators."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import qa
from qa.errors import GeneratorError
from qa.grounding import Calibration
from tests.conftest import SEED_FILE
from tests.fakes import HashEmbedder, ScriptedGenerator

pytestmark = pytest.mark.unit

CALIBRATION = Calibration(weights={"q_cov": 6.0, "missing_salient": -6.0}, bias=-3.0, threshold=0.5, support_threshold=0.5)
US = "How did the US vote on the UN General Assembly resolution?"
CHINA = "How did China vote on the resolution?"  # never mentioned: refused


def _broken(question, passages):
    raise GeneratorError("The LLM server went away mid-answer; start it again or choose another generator.")


class Crash:
    name = "crash"

    def stream(self, question, passages):  # fails on the call, before any token
        raise RuntimeError("boom")


def open_service(home: Path, **options):
    generators = {"scripted": ScriptedGenerator(lambda q, ps: "The US voted against the resolution [1]."),
                  "broken": ScriptedGenerator(_broken, name="broken"), "crash": Crash()}
    return qa.open(home=home, generator="scripted", embedder=HashEmbedder(), generators=generators,
                   calibration=CALIBRATION, **options)


def client_for(service):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    return TestClient(create_app(service, ui=False, warm_up=False), raise_server_exceptions=False)


def upload_seed(client, headers=None):
    r = client.post("/v1/documents", files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))],
                    headers=headers or {})
    assert r.status_code == 201, r.text
    return r.json()


def scrape(client, headers=None) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of GET /metrics."""
    r = client.get("/metrics", headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def requests(m, route, status, method="POST") -> float:
    return m.get(("groundqa_http_requests_total", (("method", method), ("route", route), ("status", str(status)))), 0)


def test_metrics_count_requests_answers_refusals_and_ingests(tmp_path):
    service = open_service(tmp_path / "home")
    client = client_for(service)
    report = upload_seed(client)
    assert client.post("/v1/ask", json={"question": US}).json()["refused"] is False
    assert client.post("/v1/ask", json={"question": CHINA}).json()["refusal_reason"] == "not_mentioned"
    streamed = client.post("/v1/ask/stream", json={"question": CHINA})  # answered in a worker thread
    assert streamed.status_code == 200 and "event: answer" in streamed.text
    assert client.post("/v1/ask", json={"question": US, "generator": "broken"}).status_code == 502
    assert client.post("/v1/ask", json={"question": US, "generator": "crash"}).status_code == 500
    assert client.post("/v1/ask", json={"question": ""}).status_code == 400
    client.get("/v1/documents/0123456789abcdef")  # a templated route: labelled by its template, not the id
    client.get("/no/such/route")

    m = scrape(client)
    assert requests(m, "/v1/ask", 200) == 2 and requests(m, "/v1/ask", 400) == 1 and requests(m, "/v1/ask", 502) == 1
    assert requests(m, "/v1/ask/stream", 200) == 1 and requests(m, "/v1/documents", 201) == 1
    assert requests(m, "unmatched", 404, "GET") == 1
    assert not any("0123456789abcdef" in str(labels) for _, labels in m)
    assert m[("groundqa_refusals_total", (("reason", "not_mentioned"),))] == 2
    assert m[("groundqa_answers_total", (("generator", "scripted"), ("refused", "false")))] == 1
    assert m[("groundqa_answers_total", (("generator", "scripted"), ("refused", "true")))] == 2
    assert m[("groundqa_ask_stage_seconds_count", (("generator", "scripted"), ("stage", "retrieve")))] == 3
    generated = ("groundqa_ask_stage_seconds_count", (("generator", "scripted"), ("stage", "generate")))
    assert m[generated] == 1  # refusals never reach the generator
    assert m[("groundqa_generator_errors_total", (("code", "generator_error"), ("generator", "broken")))] == 1
    assert m[("groundqa_generator_errors_total", (("code", "RuntimeError"), ("generator", "crash")))] == 1
    assert requests(m, "/v1/ask", 500) == 1
    assert m[("groundqa_ingest_chunks_total", (("collection", "default"),))] == report["chunks"] > 0
    assert m[("groundqa_ingest_failures_total", (("collection", "default"),))] == 0
    assert m[("groundqa_collection_chunks", (("collection", "default"),))] == service.collection_sizes()["default"]
    assert m[("groundqa_store_up", ())] == 1
    again = scrape(client)
    assert requests(again, "/metrics", 200, "GET") == 1  # the first scrape, counted once it was answered


def test_each_app_counts_only_its_own_requests(tmp_path):
    service = open_service(tmp_path / "home")
    first, second = client_for(service), client_for(service)
    upload_seed(first)
    first.post("/v1/ask", json={"question": CHINA})
    assert requests(scrape(first), "/v1/ask", 200) == 1
    assert requests(scrape(second), "/v1/ask", 200) == 0


def test_metrics_need_the_api_key_when_one_is_set(tmp_path):
    client = client_for(open_service(tmp_path / "home", api_key="s3cret-key"))
    r = client.get("/metrics")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert requests(scrape(client, {"Authorization": "Bearer s3cret-key"}), "/metrics", 401, "GET") == 2


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def request_log():
    handler = Lines()
    logger = logging.getLogger("groundqa.requests")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


@pytest.mark.parametrize("with_questions", [False, True])
def test_json_request_log_has_one_line_per_request_and_no_question_unless_asked(tmp_path, request_log, with_questions):
    client = client_for(open_service(tmp_path / "home", log="json", log_questions=with_questions))
    upload_seed(client)
    answered = client.post("/v1/ask", json={"question": US}).json()
    refused = client.post("/v1/ask/stream", json={"question": CHINA})
    client.get("/healthz")
    assert refused.status_code == 200
    assert len(request_log) == 4
    lines = [json.loads(line) for line in request_log]  # every line parses
    upload, ask, stream, health = lines
    assert upload["route"] == "/v1/documents" and upload["status"] == 201 and upload["ingested_chunks"] > 0
    assert ask["route"] == "/v1/ask" and ask["status"] == 200 and ask["method"] == "POST"
    assert ask["answer_id"] == answered["answer_id"] and ask["refused"] is False and ask["generator"] == "scripted"
    assert set(ask["timings_ms"]) >= {"retrieve", "generate", "verify", "total"} and ask["duration_ms"] > 0
    assert stream["refused"] is True and stream["refusal_reason"] == "not_mentioned" and stream["answer_id"]
    assert health["answer_id"] is None and health["status"] == 200
    if with_questions:
        assert ask["question"] == US and stream["question"] == CHINA
    else:
        assert all("question" not in line for line in lines)
        assert not any(text in raw for raw in request_log for text in (US, CHINA, "China", "UN General Assembly"))


def test_no_request_log_unless_switched_on(tmp_path, request_log):
    client = client_for(open_service(tmp_path / "home"))
    client.get("/healthz")
    assert request_log == []


def test_a_bad_log_setting_names_the_fix(tmp_path):
    with pytest.raises(qa.QAError, match="GROUNDQA_LOG must be 'json'"):
        open_service(tmp_path / "home", log="yaml")


def test_trace_over_http_only_when_asked(tmp_path):
    client = client_for(open_service(tmp_path / "home"))
    upload_seed(client)
    plain = client.post("/v1/ask", json={"question": US}).json()
    assert "trace" not in plain and len(plain["answer_id"]) == 16
    traced = client.post("/v1/ask", json={"question": US, "trace": True}).json()
    trace = traced["trace"]
    assert traced["answer_id"] == plain["answer_id"] == trace["answer_id"]
    assert {c["chunk_id"] for c in traced["citations"]} <= {p["chunk_id"] for p in trace["passages"]}
    assert trace["raw_text"] == traced["raw_answer"] and trace["decision"]["answerable"] is True
    refused = client.post("/v1/ask", json={"question": CHINA, "trace": True}).json()["trace"]
    assert refused["decision"]["reason"] == "not_mentioned" and refused["timings_ms"]["generate"] == 0.0
    assert client.post("/v1/ask", json={"question": US, "trace": "yes"}).status_code == 422
    events = client.post("/v1/ask/stream", json={"question": US, "trace": True}).text
    answer = json.loads(events.split("event: answer\ndata: ", 1)[1].split("\n\n", 1)[0])
    assert answer["trace"]["answer_id"] == plain["answer_id"]


def test_openapi_documents_the_trace_and_metrics(tmp_path):
    schema = client_for(open_service(tmp_path / "home")).get("/openapi.json").json()
    assert "/metrics" in schema["paths"]
    assert "trace" in schema["components"]["schemas"]["AskRequest"]["properties"]
    passage = schema["components"]["schemas"]["TracePassage"]["properties"]
    assert {"chunk_id", "dense", "bm25", "fused", "cited"} <= set(passage)
