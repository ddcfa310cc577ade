"""The HTTP contract: the answer JSON on the wire matches the recording made before the routes got response
models, and /openapi.json documents the answer (citations with start, end, quote) and the error shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_FILE
from tests.qa.test_http import US_VOTE, make_client, open_fake

RECORDED = Path(__file__).parent / "data" / "http_answer_recorded.json"
VOLATILE = {"timings_ms", "answer_id"}  # times vary; answer_id is a content hash whose recipe may evolve


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    service = open_fake(tmp_path_factory.mktemp("contract") / "home")
    service.ingest([SEED_FILE])
    with make_client(service) as c:
        yield c


def _stable(body: dict) -> dict:
    body = {k: v for k, v in body.items() if k not in VOLATILE}
    for c in body["citations"]:
        c["source"] = c["source"].replace(f"{ROOT}/", "")
        c.pop("chunk_id", None)  # a hash of the absolute source path: differs between checkouts
    return body


def _schema(spec: dict, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


@pytest.mark.unit
@pytest.mark.parametrize("case,question", [("answered", US_VOTE), ("refused", "What is the capital of Mongolia?")])
def test_the_answer_json_is_as_recorded(client, case, question):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))[case]
    body = client.post("/v1/ask", json={"question": question}).json()
    assert set(recorded) <= set(body), set(recorded) - set(body)  # nothing stripped by the response model
    new = {k for k in body if k not in recorded and k not in VOLATILE}
    assert all(c["chunk_id"] for c in body["citations"])
    assert _stable(body) == _stable({**recorded, **{k: body[k] for k in new}})
    assert isinstance(body["answer_id"], str) and body["answer_id"]
    assert all(isinstance(v, float | int) for v in body["timings_ms"].values())


@pytest.mark.unit
def test_keys_the_models_do_not_declare_pass_through(client, monkeypatch):
    """A field added to Answer.to_dict() reaches the wire even before models.py declares it."""
    from qa.answers import Answer

    to_dict = Answer.to_dict
    monkeypatch.setattr(Answer, "to_dict", lambda self: {**to_dict(self), "brand_new": {"x": [1, 2]}})
    body = client.post("/v1/ask", json={"question": US_VOTE}).json()
    assert body["brand_new"] == {"x": [1, 2]}
    chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": US_VOTE}]}).json()
    assert chat["groundqa"]["brand_new"] == {"x": [1, 2]}


@pytest.mark.unit
def test_the_stream_answer_event_equals_the_ask_answer(client):
    from tests.qa.test_http import sse_events

    text = client.post("/v1/ask/stream", json={"question": US_VOTE}).text
    answer = json.loads([d for e, d in sse_events(text) if e == "answer"][0])
    body = client.post("/v1/ask", json={"question": US_VOTE}).json()
    assert _stable(answer) == _stable(body)


@pytest.mark.unit
def test_openapi_documents_the_answer_and_the_errors(client):
    spec = client.get("/openapi.json").json()
    ask = spec["paths"]["/v1/ask"]["post"]
    answer = _schema(spec, ask["responses"]["200"]["content"]["application/json"]["schema"])
    for field in ("citations", "short_answer", "refusal_reason", "hops", "sentences", "refused", "grounding"):
        assert field in answer["properties"], field
    citation = _schema(spec, answer["properties"]["citations"]["items"])
    assert {"start", "end", "quote", "section", "source", "page"} <= set(citation["properties"])
    assert citation["properties"]["start"]["type"] == "integer"
    for status in ("400", "401", "404", "422", "429", "502", "503"):
        error = _schema(spec, ask["responses"][status]["content"]["application/json"]["schema"])
        detail = _schema(spec, error["properties"]["error"])
        assert set(detail["properties"]) == {"code", "message"}, status
    for path, method in [("/v1/documents", "post"), ("/v1/documents", "get"), ("/v1/collections", "get"),
                         ("/v1/chat/completions", "post"), ("/v1/models", "get"), ("/readyz", "get")]:
        responses = spec["paths"][path][method]["responses"]
        assert any(s.startswith("2") and "schema" in r.get("content", {}).get("application/json", {})
                   for s, r in responses.items()), (path, method)
        assert "503" in responses, (path, method)
    chat = _schema(spec, spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
                   ["application/json"]["schema"])
    assert {"choices", "citations", "groundqa"} <= set(chat["properties"])
