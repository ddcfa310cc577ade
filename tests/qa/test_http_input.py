"""Hostile and sloppy input at the HTTP edge (issue 14.4): invalid Unicode is a 400 (never a 500), every /v1
404/405 keeps the error contract with the UI mounted, types are strict, an empty collection name and a
question with no visible characters are refused."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_FILE
from tests.qa.test_http import US_VOTE, assert_error, make_client, open_fake

ASK_ROUTES = ["/v1/ask", "/v1/ask/stream"]
LONE = '"\\ud800"'  # a JSON string escape that decodes to a lone surrogate


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    s = open_fake(tmp_path_factory.mktemp("input") / "home")
    s.ingest([SEED_FILE])
    return s


@pytest.fixture(scope="module")
def client(service):
    with make_client(service) as c:
        yield c


def post_raw(client, path: str, body: str | bytes):
    data = body.encode("utf-8") if isinstance(body, str) else body
    return client.post(path, content=data, headers={"content-type": "application/json"})


@pytest.mark.unit
@pytest.mark.parametrize("path,body", [
    ("/v1/ask", '{"question": %s}' % LONE),
    ("/v1/ask", '{"question": "How did the US vote? \\udfff"}'),
    ("/v1/ask", '{"question": "Who?", "collection": %s}' % LONE),
    ("/v1/ask/stream", '{"question": %s}' % LONE),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": %s}]}' % LONE),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": [{"type": "text", "text": %s}]}]}' % LONE),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "Who?"}], "user": %s}' % LONE),
])
def test_lone_surrogates_are_400(client, path, body):
    message = assert_error(post_raw(client, path, body), 400, "invalid_unicode")
    assert "UTF-8" in message


@pytest.mark.unit
def test_bytes_that_are_not_utf8_are_400(client):
    assert_error(post_raw(client, "/v1/ask", b'{"question": "caf\xe9?"}'), 400, "invalid_unicode")


@pytest.mark.unit
def test_surrogate_pairs_and_escapes_are_fine(client):
    r = post_raw(client, "/v1/ask", '{"question": "How did the US vote \\ud83d\\ude00 on the UN resolution?"}')
    assert r.status_code == 200, r.text
    assert "\U0001F600" in r.json()["question"]


@pytest.mark.unit
def test_the_service_refuses_lone_surrogates_too(service):
    """The CLI passes argv through the same check: undecodable bytes arrive as lone surrogates (\\udcXX)."""
    from qa.errors import InvalidUnicode

    with pytest.raises(InvalidUnicode):
        service.ask("How did the US vote\udce9?")


@pytest.mark.unit
@pytest.mark.parametrize("question", ["\u200b\u200b", " \u200d\ufeff\u2060 ", "\u00a0\u3000", "\t\n", "\u202e\u200e"])
@pytest.mark.parametrize("path", ASK_ROUTES)
def test_questions_without_visible_characters_are_400(client, path, question):
    assert_error(client.post(path, json={"question": question}), 400, "empty_question")


@pytest.mark.unit
def test_a_question_with_zero_width_characters_and_words_is_answered(client):
    r = client.post("/v1/ask", json={"question": "\u200b" + US_VOTE})
    assert r.status_code == 200 and not r.json()["refused"], r.text


@pytest.mark.unit
@pytest.mark.parametrize("path,body", [
    ("/v1/ask", {"question": "Who?", "top_k": "5"}),
    ("/v1/ask", {"question": "Who?", "top_k": 5.0}),
    ("/v1/ask", {"question": "Who?", "top_k": True}),
    ("/v1/ask", {"question": None}),
    ("/v1/ask", {"question": ["Who?"]}),
    ("/v1/ask", {"question": "Who?", "collection": 7}),
    ("/v1/ask/stream", {"question": "Who?", "top_k": "5"}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": None}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user"}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Who?"}], "top_k": "5"}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Who?"}], "stream": "yes"}),
])
def test_types_are_strict(client, path, body):
    message = assert_error(client.post(path, json=body), 422, "invalid_request")
    assert "/docs" in message


@pytest.mark.unit
def test_null_content_of_an_assistant_message_is_allowed(client):
    r = client.post("/v1/chat/completions", json={"messages": [
        {"role": "assistant", "content": None}, {"role": "user", "content": US_VOTE}]})
    assert r.status_code == 200, r.text
    assert r.json()["groundqa"]["question"] == US_VOTE


@pytest.mark.unit
@pytest.mark.parametrize("method,path,kwargs", [
    ("post", "/v1/ask", {"json": {"question": "Who?", "collection": ""}}),
    ("post", "/v1/ask/stream", {"json": {"question": "Who?", "collection": ""}}),
    ("post", "/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": "Who?"}], "collection": ""}}),
    ("get", "/v1/documents?collection=", {}),
    ("delete", "/v1/documents/0123456789abcdef?collection=", {}),
])
def test_an_empty_collection_name_is_400(client, method, path, kwargs):
    """(A multipart upload's empty `collection` field is the default, as HTML forms send empty fields.)"""
    message = assert_error(getattr(client, method)(path, **kwargs), 400, "invalid_collection_name")
    assert "default collection" in message


@pytest.mark.unit
def test_v1_errors_keep_the_contract_with_the_ui_mounted(service):
    with make_client(service, ui=True) as c:
        for path in ("/v1/nothing-here", "/v1/", "/v1", "/v1/ask/extra"):
            assert_error(c.get(path), 404, "not_found")
        assert_error(c.post("/v1/nothing", json={}), 404, "not_found")
        r = c.get("/v1/ask")
        assert_error(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"
        assert_error(c.put("/v1/documents"), 405, "method_not_allowed")
        assert "POST" in c.put("/v1/documents").headers["allow"]
        assert_error(c.post("/v1/ask", json={"question": "\u200b"}), 400, "empty_question")
        assert c.get("/").status_code == 200  # the UI still answers everything else
        assert c.post("/v1/ask", json={"question": US_VOTE}).status_code == 200


@pytest.mark.unit
def test_no_catch_all_route_in_the_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert all(p.startswith(("/v1/", "/healthz", "/readyz", "/metrics")) for p in paths), list(paths)
