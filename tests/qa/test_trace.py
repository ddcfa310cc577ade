"""Traces (qa/trace.py): what one answer retrieved, decided, generated and verified, and how long each stage
took; answer ids; OpenTelemetry spans captured by the SDK's in-memory exporter."""

from __future__ import annotations

import json

import pytest

import qa
from qa.errors import GeneratorError
from qa.grounding import Calibration
from qa.trace import STAGES, observing
from tests.fakes import HashEmbedder, ScriptedGenerator

US = "How did the US vote?"
CHINA = "How did China vote?"  # the seed article never mentions China: refused before generation


@pytest.mark.unit
def test_a_trace_lists_the_chunks_its_citations_came_from(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "The US voted against the resolution [1]."
    answer = fake_service.ask(US, trace=True)
    trace = answer.trace
    assert not answer.refused and answer.citations
    assert trace.chunk_ids() == [p.chunk_id for p in answer.passages]
    cited = {c.chunk_id for c in answer.citations}
    assert cited <= set(trace.chunk_ids())
    assert {p["chunk_id"] for p in trace.passages if p["cited"]} == cited
    assert {cid for s in trace.sentences for cid in s["chunk_ids"]} == cited
    # hybrid retrieval: each passage's dense cosine, its BM25 score (None when BM25 did not find it), the fused
    # score the ranking followed
    fused = [p["fused"] for p in trace.passages]
    assert fused == sorted(fused, reverse=True) and fused[0] == 1.0
    assert all(isinstance(p["dense"], float) for p in trace.passages)
    assert trace.passages[0]["bm25"] is not None and trace.passages[0]["bm25"] > 0
    assert trace.decision["answerable"] and trace.decision["reason"] is None
    assert trace.decision["probability"] == pytest.approx(answer.answerability, abs=1e-4)
    assert set(trace.decision["features"]) >= {"q_cov", "missing_salient"}
    assert trace.raw_text == "The US voted against the resolution [1]." == answer.raw_answer
    assert trace.sentences[0]["supported"] and trace.sentences[0]["reason"] == "supported"
    assert trace.hops[0]["query"] == US
    assert list(trace.timings_ms) == [*STAGES, "total"] and trace.timings_ms["generate"] > 0
    d = answer.to_dict()
    assert d["trace"]["answer_id"] == d["answer_id"] == answer.answer_id
    assert json.loads(json.dumps(d))["trace"]["passages"][0]["chunk_id"] == trace.chunk_ids()[0]
    assert "Retrieved" in trace.to_text() and trace.chunk_ids()[0] in trace.to_text()


@pytest.mark.unit
def test_a_refused_questions_trace_names_the_reason_and_no_generation(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "China voted in favour of the resolution [1]."
    trace = fake_service.ask(CHINA, trace=True).trace
    assert trace.decision["answerable"] is False
    assert trace.decision["reason"] == "not_mentioned" and trace.decision["rule"] == "unmentioned"
    assert trace.decision["unmentioned"] == ["China"]
    assert trace.timings_ms["generate"] == 0.0 and trace.raw_text == "" and trace.citations == []
    assert trace.chunk_ids()  # it still shows what was retrieved
    assert "reason not_mentioned" in trace.to_text()


@pytest.mark.unit
def test_no_trace_unless_asked_and_answer_ids_are_content_hashes(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "The US voted against the resolution [1]."
    first, again = fake_service.ask(US), fake_service.ask(US)
    assert first.trace is None and "trace" not in first.to_dict()
    assert len(first.answer_id) == 16 and first.answer_id == again.answer_id == first.to_dict()["answer_id"]
    assert fake_service.ask(CHINA).answer_id != first.answer_id
    streamed = list(fake_service.ask_stream(US, trace=True))[-1].answer
    assert streamed.trace is not None and streamed.answer_id == first.answer_id


def _service(tmp_path, *generators, **options):
    calibration = Calibration(weights={"q_cov": 6.0, "missing_salient": -6.0}, bias=-3.0, threshold=0.5,
                              support_threshold=0.5)
    return qa.open(home=tmp_path / "home", generator=generators[0].name, embedder=HashEmbedder(),
                   generators={g.name: g for g in generators}, calibration=calibration, **options)


class Heard:
    def __init__(self):
        self.answers, self.failures, self.ingests = [], [], []

    def answered(self, answer):
        self.answers.append(answer)

    def generator_failed(self, generator, error):
        self.failures.append((generator, error))

    def ingested(self, report):
        self.ingests.append(report)


def _broken(question, passages):
    raise GeneratorError("The LLM server did not answer; start it or choose another generator.")


@pytest.mark.unit
def test_observers_hear_answers_failures_and_ingests_in_their_context_only(tmp_path, seed_copy):
    service = _service(tmp_path, ScriptedGenerator(lambda q, ps: "The US voted against it [1]."),
                       ScriptedGenerator(_broken, name="broken"))
    heard = Heard()
    with observing(heard):
        service.ingest([seed_copy])
        answer = service.ask(US)
        with pytest.raises(GeneratorError):
            service.ask(US, generator="broken")
    service.ask(US)  # outside the block: nobody hears it
    assert [r.chunks for r in heard.ingests] == [service.collection_sizes()["default"]]
    assert heard.answers == [answer]
    assert [(g, type(e)) for g, e in heard.failures] == [("broken", GeneratorError)]


# --- OpenTelemetry -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spans():
    """The SDK's in-memory exporter on the process's tracer provider (installed once)."""
    from opentelemetry import trace as otel
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = otel.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        otel.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.mark.unit
def test_spans_per_stage_under_an_ask_span(tmp_path, seed_copy, spans):
    service = _service(tmp_path, ScriptedGenerator(lambda q, ps: "The US voted against the resolution [1]."),
                       ScriptedGenerator(_broken, name="broken"), otel_endpoint="http://127.0.0.1:4318")
    service.ingest([seed_copy])
    spans.clear()
    answer = service.ask(US)
    got = {s.name: s for s in spans.get_finished_spans()}
    assert set(got) == {"groundqa.ask", "groundqa.retrieve", "groundqa.decide", "groundqa.generate", "groundqa.verify"}
    ask = got.pop("groundqa.ask")
    assert ask.attributes["groundqa.answer_id"] == answer.answer_id and ask.attributes["groundqa.refused"] is False
    assert all(s.parent.span_id == ask.context.span_id and s.context.trace_id == ask.context.trace_id
               for s in got.values())
    assert ask.start_time <= got["groundqa.retrieve"].start_time <= got["groundqa.verify"].end_time <= ask.end_time
    assert (got["groundqa.retrieve"].end_time - got["groundqa.retrieve"].start_time) / 1e6 == pytest.approx(
        answer.timings_ms["retrieve"], abs=0.01)

    spans.clear()
    refused = service.ask(CHINA)
    names = {s.name: s for s in spans.get_finished_spans()}
    assert "groundqa.generate" not in names  # refused before generation
    assert names["groundqa.ask"].attributes["groundqa.refusal_reason"] == refused.refusal_reason == "not_mentioned"

    spans.clear()
    with pytest.raises(GeneratorError):
        service.ask(US, generator="broken")
    failed = {s.name: s for s in spans.get_finished_spans()}
    assert not failed["groundqa.generate"].status.is_ok and not failed["groundqa.ask"].status.is_ok
    assert failed["groundqa.generate"].events[0].name == "exception"


@pytest.mark.unit
def test_no_spans_without_an_endpoint(fake_service, seed_copy, spans):
    fake_service.ingest([seed_copy])
    spans.clear()
    fake_service.ask(US)
    assert fake_service.config.otel_endpoint is None and spans.get_finished_spans() == ()


# --- the real parts -------------------------------------------------------------------------------------
@pytest.mark.integration
def test_a_real_answers_trace(real_service):
    answer = real_service.ask(US, generator="extractive", trace=True)
    trace = answer.trace
    assert not answer.refused and "against" in answer.answer
    assert {c.chunk_id for c in answer.citations} <= set(trace.chunk_ids())
    assert all(p["fused"] is not None and -1.0 <= p["dense"] <= 1.0 for p in trace.passages)
    assert trace.decision["probability"] >= 0.5 and trace.timings_ms["total"] >= trace.timings_ms["retrieve"]


@pytest.mark.integration
def test_qa_ask_trace_on_the_command_line(tmp_path):
    from tests.conftest import SEEDS, run_qa

    home = tmp_path / "home"
    assert run_qa("ingest", str(SEEDS), home=home).returncode == 0
    out = run_qa("ask", US, "--generator", "extractive", "--trace", "--json", home=home)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    trace = answer["trace"]
    assert trace["answer_id"] == answer["answer_id"] and trace["decision"]["answerable"] is True
    assert {c["chunk_id"] for c in answer["citations"]} <= {p["chunk_id"] for p in trace["passages"]}
