"""Conversations over HTTP: CRUD, asking in context (JSON and SSE), feedback, the OpenAI client with a
two-turn messages list, and persistence across a restart of the app over the same home."""

from __future__ import annotations

import json

import pytest

from qa.service import Service
from tests.conftest import SEED_FILE

pytestmark = pytest.mark.integration
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
FOLLOW_UP = "How did the US vote on its own resolution?"


def client_for(service):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    return TestClient(create_app(service, ui=False, warm_up=False), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def service(real_service):
    return real_service.variant(generator="extractive")


@pytest.fixture(scope="module")
def client(service):
    return client_for(service)


def test_conversation_crud_and_asking_in_context(client, service):
    created = client.post("/v1/conversations", json={})
    assert created.status_code == 201
    cid = created.json()["id"]
    assert created.json()["turns"] == 0 and created.json()["collection"] == service.config.collection

    first = client.post(f"/v1/conversations/{cid}/ask", json={"question": "How did the US vote?"})
    assert first.status_code == 200 and "against" in first.json()["answer"]
    second = client.post(f"/v1/conversations/{cid}/ask", json={"question": "And on its own resolution?"}).json()
    assert second["standalone_question"] == FOLLOW_UP and second["conversation_id"] == cid
    assert "abstain" in second["answer"] and not second["refused"]
    for c in second["citations"]:
        assert SEED_TEXT[c["start"] : c["end"]] == c["quote"]

    listed = client.get("/v1/conversations").json()["conversations"]
    assert any(c["id"] == cid and c["turns"] == 2 and c["title"] == "How did the US vote?" for c in listed)
    full = client.get(f"/v1/conversations/{cid}").json()
    assert [t["question"] for t in full["turns"]] == ["How did the US vote?", "And on its own resolution?"]
    assert full["turns"][1]["answer"] == second and full["turns"][1]["rewrite"] == "deterministic"

    feedback = client.post("/v1/feedback", json={"answer_id": second["answer_id"], "rating": "down",
                                                 "comment": "say abstain first"})
    assert feedback.status_code == 200 and feedback.json()["turn"] == 2
    assert client.get(f"/v1/conversations/{cid}").json()["turns"][1]["rating"] == -1

    # A restart: a new app over a new Service on the same home still has the conversation and its feedback.
    restarted = client_for(Service(service.config, embedder=service.embedder, store=service.store))
    again = restarted.get(f"/v1/conversations/{cid}").json()
    assert again["turns"][1]["answer"] == second and again["turns"][1]["comment"] == "say abstain first"
    third = restarted.post(f"/v1/conversations/{cid}/ask", json={"question": "And what did Macron say?"}).json()
    assert third["standalone_question"] == "What did Macron say?"

    assert client.delete(f"/v1/conversations/{cid}").status_code == 200
    assert client.get(f"/v1/conversations/{cid}").status_code == 404


def test_unknown_ids_and_bad_feedback(client):
    for method, path in (("GET", "/v1/conversations/nope"), ("DELETE", "/v1/conversations/nope"),
                         ("POST", "/v1/conversations/nope/ask"), ("POST", "/v1/conversations/nope/ask/stream")):
        r = client.request(method, path, json={"question": "How did the US vote?"} if method == "POST" else None)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"] == "not_found" and "/v1/conversations" in r.json()["error"]["message"]
    r = client.post("/v1/feedback", json={"answer_id": "nope", "rating": "up"})
    assert r.status_code == 404 and "conversation" in r.json()["error"]["message"]
    assert client.post("/v1/feedback", json={"answer_id": "x", "rating": "sideways"}).status_code == 422
    cid = client.post("/v1/conversations", json={}).json()["id"]
    assert client.post(f"/v1/conversations/{cid}/ask", json={"question": "  "}).status_code == 400
    r = client.post("/v1/conversations", json={"collection": "no-such"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "collection_not_found"


def test_streaming_a_follow_up(client):
    cid = client.post("/v1/conversations", json={}).json()["id"]
    client.post(f"/v1/conversations/{cid}/ask", json={"question": "How did the US vote?"})
    with client.stream("POST", f"/v1/conversations/{cid}/ask/stream",
                       json={"question": "And on its own resolution?"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    assert events[0].startswith("event: token")
    answer = json.loads(events[-1].split("data: ", 1)[1])
    assert events[-1].startswith("event: answer") and answer["standalone_question"] == FOLLOW_UP
    assert len(client.get(f"/v1/conversations/{cid}").json()["turns"]) == 2


def test_the_openai_client_with_a_two_turn_history(client):
    from openai import OpenAI

    oa = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client, max_retries=0)
    first = oa.chat.completions.create(model="extractive",
                                       messages=[{"role": "user", "content": "How did the US vote?"}])
    messages = [{"role": "system", "content": "Answer from the documents."},
                {"role": "user", "content": "How did the US vote?"},
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "And on its own resolution?"}]
    second = oa.chat.completions.create(model="extractive", messages=messages)
    extra = second.model_extra["groundqa"]
    assert extra["standalone_question"] == FOLLOW_UP and extra["question"] == "And on its own resolution?"
    assert "abstain" in second.choices[0].message.content
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in
                       oa.chat.completions.create(model="extractive", messages=messages, stream=True) if chunk.choices)
    assert "abstain" in streamed
    alone = oa.chat.completions.create(model="extractive", messages=messages[-1:])
    assert alone.model_extra["groundqa"]["standalone_question"] is None  # one message: answered as it stands
