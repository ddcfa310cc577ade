"""The HTTP API. Unit tests: the real app in process (FastAPI TestClient, no sockets) over a real Service and
real Chroma, with the hash embedder and scripted generators. Integration tests: real models, a real uvicorn on
loopback, a real Chroma server and llama-cpp-python's own OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import qa
from qa.errors import GeneratorError, ModelUnavailable
from qa.grounding import Calibration
from tests.conftest import ROOT, SEED_FILE, SEEDS
from tests.fakes import HashEmbedder, ScriptedGenerator

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
SEED_BYTES = SEED_FILE.read_bytes()
CALIBRATION = Calibration(weights={"q_cov": 6.0, "missing_salient": -6.0}, bias=-3.0, threshold=0.5, support_threshold=0.5)
US_VOTE = "How did the US vote on the UN General Assembly resolution?"


# --- helpers ------------------------------------------------------------------------------------------
def open_fake(home: Path, **options):
    """A real Service over real Chroma with the hash embedder; `scripted` answers the US vote, `echo` repeats
    the question, `broken` fails mid-answer, `crash` raises an unexpected error."""

    def broken(question, passages):
        yield "The US"
        raise GeneratorError("The LLM server went away mid-answer.")

    class Broken:
        name = "broken"
        stream = staticmethod(broken)

    class Crash:
        name = "crash"

        def stream(self, question, passages):
            raise RuntimeError("boom")

    generators = {
        "scripted": ScriptedGenerator(lambda q, ps: "The US voted against the resolution [1]."),
        "echo": ScriptedGenerator(lambda q, ps: q, name="echo"),
        "broken": Broken(), "crash": Crash(),
        **options.pop("generators", {}),
    }
    options.setdefault("generator", "scripted")
    return qa.open(home=home, embedder=options.pop("embedder", HashEmbedder()), generators=generators,
                   calibration=CALIBRATION, **options)


def make_client(service, ui: bool = False):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    return TestClient(create_app(service, ui=ui), raise_server_exceptions=False)


def wait_ready(client, headers=None, timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while True:
        r = client.get("/readyz", headers=headers or {})
        if r.status_code == 200 or time.time() > deadline:
            assert r.status_code == 200, r.text
            return r.json()
        assert r.json()["error"]["code"] == "not_ready", r.text
        time.sleep(0.2)


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event, data) pairs of a server-sent-events body; comments are skipped."""
    out = []
    for block in text.split("\n\n"):
        event, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            out.append((event, "\n".join(data)))
    return out


def upload(client, *files, collection=None, headers=None):
    data = {"collection": collection} if collection else {}
    return client.post("/v1/documents", files=[("files", f) for f in files], data=data, headers=headers or {})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"].strip()
    return body["error"]["message"]


# --- unit: the API over fakes --------------------------------------------------------------------------
@pytest.fixture
def service(tmp_path):
    s = open_fake(tmp_path / "home")
    s.ingest([SEED_FILE])
    return s


@pytest.fixture
def client(service):
    with make_client(service) as c:
        yield c


@pytest.mark.unit
def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = wait_ready(client)
    assert ready["status"] == "ready" and ready["generator"] == "scripted"
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/v1/ask", "/v1/ask/stream", "/v1/documents", "/v1/documents/{doc_id}", "/v1/collections",
        "/v1/chat/completions", "/healthz", "/readyz"}
    assert client.get("/docs").status_code == 200


@pytest.mark.unit
def test_not_ready_while_the_model_cannot_load(tmp_path):
    class Unloadable(ScriptedGenerator):
        def load(self):
            raise ModelUnavailable("GGUF model not found: /nowhere.gguf.")

    s = open_fake(tmp_path / "home", generator="unloadable",
                  generators={"unloadable": Unloadable(lambda q, p: "", name="unloadable")})
    with make_client(s) as c:
        deadline = time.time() + 30
        while (r := c.get("/readyz")).json()["error"]["message"].startswith("Loading") and time.time() < deadline:
            time.sleep(0.05)
        body = r.json()  # the error contract plus the machine-readable checks
        assert r.status_code == 503 and body["error"]["code"] == "not_ready", body
        assert "/nowhere.gguf" in body["error"]["message"] and body["checks"]["generator"]["ok"] is False
        assert c.get("/healthz").status_code == 200  # alive all the same


@pytest.mark.unit
def test_ask_returns_the_answer_contract(client):
    r = client.post("/v1/ask", json={"question": US_VOTE})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["refused"] is False and d["generator"] == "scripted" and d["question"] == US_VOTE
    assert d["citations"] and "[1]" in d["answer"]
    for c in d["citations"]:
        assert SEED_TEXT[c["start"]:c["end"]] == c["quote"] and c["source"].endswith(SEED_FILE.name)
    assert set(d) >= {"answer", "refused", "citations", "generator", "timings_ms", "grounding", "sentences"}


@pytest.mark.unit
def test_ask_options_are_passed_through(client, service, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("The harbour bridge is painted green every ten years.")
    service.ingest([other], "other-docs")
    r = client.post("/v1/ask", json={"question": "What colour is the harbour bridge painted?", "collection": "other-docs",
                                     "top_k": 1, "generator": "extractive"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["collection"] == "other-docs" and d["generator"] == "extractive" and "green" in d["answer"]
    assert [c["source"] for c in d["citations"]] == [str(other)]


@pytest.mark.unit
def test_stream_sends_tokens_then_the_verified_answer(client):
    with client.stream("POST", "/v1/ask/stream", json={"question": US_VOTE}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    kinds = [e for e, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"token"} and len(kinds) > 2
    answer = json.loads(events[-1][1])
    assert answer["raw_answer"] == "".join(json.loads(d)["text"] for _, d in events[:-1])
    assert answer["citations"] and not answer["refused"]
    assert answer == {**client.post("/v1/ask", json={"question": US_VOTE}).json(), "timings_ms": answer["timings_ms"]}


@pytest.mark.unit
def test_stream_errors(client):
    # Before the first event: a real HTTP error status.
    assert_error(client.post("/v1/ask/stream", json={"question": " "}), 400, "empty_question")
    assert_error(client.post("/v1/ask/stream", json={"question": "x", "collection": "missing"}), 404, "collection_not_found")
    # After tokens were sent: an error event ends the stream.
    with client.stream("POST", "/v1/ask/stream", json={"question": US_VOTE, "generator": "broken"}) as r:
        assert r.status_code == 200
        events = sse_events(r.read().decode())
    assert events[0] == ("token", json.dumps({"text": "The US"}))
    assert events[-1][0] == "error" and json.loads(events[-1][1])["error"]["code"] == "generator_error"


@pytest.mark.unit
@pytest.mark.parametrize("body,status,code", [
    ({"question": ""}, 400, "empty_question"),
    ({"question": "x" * 100_000}, 413, "question_too_long"),
    ({"question": "Who?", "collection": "no-such-collection"}, 404, "collection_not_found"),
    ({"question": "Who?", "collection": "../../etc"}, 400, "invalid_collection_name"),
    ({"question": "Who?", "top_k": 0}, 400, "invalid_input"),
    ({"question": "Who?", "top_k": 500}, 400, "invalid_input"),
    ({"question": "Who?", "generator": "gpt-99"}, 400, "invalid_input"),
    ({"question": US_VOTE, "generator": "broken"}, 502, "generator_error"),
    ({"question": US_VOTE, "generator": "crash"}, 500, "internal_error"),
    ({"question": 42}, 422, "invalid_request"),
    ({"questio": "typo"}, 422, "invalid_request"),
])
def test_ask_error_statuses(client, body, status, code):
    assert_error(client.post("/v1/ask", json=body), status, code)


@pytest.mark.unit
def test_protocol_errors_have_the_same_shape(client):
    assert_error(client.post("/v1/ask", content=b"{oops", headers={"content-type": "application/json"}), 400, "invalid_json")
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(client.get("/v1/ask"), 405, "method_not_allowed")
    assert_error(client.post("/v1/ask", content=b"{" + b" " * 2_000_000 + b"}",
                             headers={"content-type": "application/json"}), 413, "upload_too_large")


@pytest.mark.unit
def test_upload_list_ask_delete(client, service, tmp_path):
    note = b"The lighthouse keeper, Ada Brennan, lit the lamp every night in 1890."
    r = upload(client, ("lighthouse.txt", note, "text/plain"), ("seed.md", SEED_BYTES, "text/markdown"), collection="notes")
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["collection"] == "notes" and report["added"] == 2 and report["chunks"] > 2
    home = service.config.home
    ids = {d["name"]: d["id"] for d in report["documents"]}
    assert (home / "uploads" / "notes" / "lighthouse.txt").read_bytes() == note

    listed = client.get("/v1/documents", params={"collection": "notes"}).json()
    assert listed["collection"] == "notes" and {d["id"] for d in listed["documents"]} == set(ids.values())
    assert {c["name"]: c["chunks"] for c in client.get("/v1/collections").json()["collections"]}["notes"] == report["chunks"]

    d = client.post("/v1/ask", json={"question": "Who lit the lamp in the lighthouse?", "collection": "notes",
                                     "generator": "extractive"}).json()
    assert not d["refused"] and "Ada Brennan" in d["answer"] and d["citations"][0]["doc_id"] == ids["lighthouse.txt"]

    # Same name again with new content: an update of the same document source, not a second copy.
    r = upload(client, ("lighthouse.txt", note.replace(b"1890", b"1891"), "text/plain"), collection="notes")
    assert r.json()["updated"] == 1
    new_id = r.json()["documents"][0]["id"]
    assert_error(client.delete(f"/v1/documents/{ids['lighthouse.txt']}", params={"collection": "notes"}), 404, "not_found")

    r = client.delete(f"/v1/documents/{new_id}", params={"collection": "notes"})
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == new_id and r.json()["files_removed"] == [str(home / "uploads" / "notes" / "lighthouse.txt")]
    assert not (home / "uploads" / "notes" / "lighthouse.txt").exists()
    remaining = client.get("/v1/documents", params={"collection": "notes"}).json()["documents"]
    assert [x["id"] for x in remaining] == [ids["seed.md"]]
    assert all(c.doc_id != new_id for c in service.store.all_chunks("notes"))
    d = client.post("/v1/ask", json={"question": "Who lit the lamp in the lighthouse?", "collection": "notes",
                                     "generator": "extractive"}).json()
    assert "Ada Brennan" not in d["answer"]
    assert_error(client.delete(f"/v1/documents/{new_id}", params={"collection": "notes"}), 404, "not_found")
    assert_error(client.delete("/v1/documents/..%2F..%2Fetc", params={"collection": "notes"}), 404, "not_found")
    assert_error(client.get("/v1/documents", params={"collection": "nope-nope"}), 404, "collection_not_found")


@pytest.mark.unit
@pytest.mark.parametrize("name", ["../../x.txt", "..\\..\\x.txt", "/etc/x.txt", "a/../../../x.txt", "....//....//x.txt"])
def test_upload_names_cannot_escape_home(client, service, tmp_path, name):
    before = {p for p in tmp_path.rglob("*") if "home" not in p.relative_to(tmp_path).parts}
    r = upload(client, (name, b"The vault code is kept by the night porter.", "text/plain"))
    assert r.status_code == 201, r.text
    saved = Path(r.json()["documents"][0]["source"])
    assert saved.parent == service.config.home / "uploads" / "default" and saved.name == "x.txt"
    after = {p for p in tmp_path.rglob("*") if "home" not in p.relative_to(tmp_path).parts}
    assert after == before  # nothing written outside home
    assert not Path("/etc/x.txt").exists()


@pytest.mark.unit
def test_upload_limits_and_types(tmp_path):
    s = open_fake(tmp_path / "home", max_upload_bytes=1000, max_upload_files=2)
    uploads = s.config.home / "uploads"
    with make_client(s) as c:
        assert_error(upload(c, ("../../x", b"no extension", "text/plain")), 415, "unsupported_file_type")
        assert_error(upload(c, ("report.odt", b"PK\x03\x04", "application/octet-stream")), 415, "unsupported_file_type")
        assert_error(upload(c, ("report.pdf", b"%PDF-1.4", "application/pdf")), 422, "unreadable_document")
        assert_error(upload(c, ("bin.txt", b"\x00\x01\x02", "text/plain")), 422, "unreadable_document")
        assert_error(upload(c, ("latin1.txt", "café".encode("latin-1"), "text/plain")), 422, "unreadable_document")
        assert_error(upload(c, ("empty.md", b"  \n", "text/plain")), 422, "unreadable_document")
        assert_error(upload(c, (".txt", b"hello", "text/plain")), 400, "invalid_input")
        msg = assert_error(upload(c, ("big.txt", b"word " * 300, "text/plain")), 413, "upload_too_large")
        assert "1,000" in msg
        assert_error(upload(c, *[(f"f{i}.txt", b"hi there", "text/plain") for i in range(3)]), 413, "upload_too_large")
        # A bad file in a batch saves nothing: the good one is not written either.
        assert_error(upload(c, ("good.txt", b"Fine text.", "text/plain"), ("bad.txt", b"\x00", "text/plain")),
                     422, "unreadable_document")
        assert_error(upload(c, ("good.txt", b"Fine text.", "text/plain"), collection="../evil"), 400, "invalid_collection_name")
        assert_error(c.post("/v1/documents", data={"collection": "default"}), 422, "invalid_request")
        assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
        r = upload(c, ("ok.txt", b"The tide turns at noon.", "text/plain"), ("ok2.md", b"# Tides\nLow at six.", "text/plain"))
        assert r.status_code == 201 and r.json()["added"] == 2


@pytest.mark.unit
def test_auth_off_means_open(client):
    assert client.post("/v1/ask", json={"question": US_VOTE}).status_code == 200
    assert client.get("/v1/collections").status_code == 200


@pytest.mark.unit
def test_auth_on_every_v1_route(tmp_path):
    s = open_fake(tmp_path / "home", api_key="s3cret-key", auth_failures=1000)  # throttling: test_http_exposure.py
    s.ingest([SEED_FILE])
    good = {"Authorization": "Bearer s3cret-key"}
    with make_client(s) as c:
        v1 = sorted((m.upper(), path) for path, ops in c.app.openapi()["paths"].items() if path.startswith("/v1") for m in ops)
        assert len(v1) >= 8
        for method, path in v1:
            url = path.replace("{doc_id}", "0123456789abcdef")
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key"},
                            {"Authorization": "Basic s3cret-key"}, {"Authorization": "Bearer s3cret-keyX"}):
                r = c.request(method, url, headers=headers)
                assert_error(r, 401, "unauthorized")
                assert r.headers["www-authenticate"] == "Bearer"
        assert c.get("/healthz").status_code == 200
        wait_ready(c)
        r = c.post("/v1/ask", json={"question": US_VOTE}, headers=good)
        assert r.status_code == 200 and r.json()["citations"]
        r = upload(c, ("k.txt", b"Keys open doors.", "text/plain"), headers=good)
        assert r.status_code == 201
        assert c.get("/v1/documents", headers={"Authorization": "bearer s3cret-key"}).status_code == 200


@pytest.mark.unit
def test_the_ui_is_mounted_and_honours_the_key(tmp_path):
    s = open_fake(tmp_path / "home", api_key="ui-key")
    with make_client(s, ui=True) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert c.get("/config").status_code == 401  # the UI's app needs logging in
        assert c.post("/login", data={"username": "anyone", "password": "wrong"}).status_code == 400
        assert c.post("/login", data={"username": "anyone", "password": "ui-key"}).status_code == 200
        config = c.get("/config")
        assert config.status_code == 200 and "groundqa" in config.text
        assert c.get("/docs").status_code == 200 and c.get("/healthz").json() == {"status": "ok"}
        assert_error(c.post("/v1/ask", json={"question": "x"}), 401, "unauthorized")


@pytest.mark.unit
def test_ui_without_key_needs_no_login(service):
    with make_client(service, ui=True) as c:
        config = c.get("/config")
        assert config.status_code == 200 and "Add documents" in config.text


@pytest.mark.unit
def test_chat_completions_over_http(client):
    body = {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "Hello"},
                                            {"role": "assistant", "content": "Hi."},
                                            {"role": "user", "content": [{"type": "text", "text": US_VOTE}]}]}
    d = client.post("/v1/chat/completions", json=body).json()
    assert d["object"] == "chat.completion" and d["model"] == "groundqa/scripted"
    lead = f"{d['groundqa']['short_answer']}\n\n" if d["groundqa"]["short_answer"] else ""
    assert d["choices"][0]["message"] == {"role": "assistant", "content": lead + d["groundqa"]["answer"]}
    assert d["groundqa"]["question"] == US_VOTE and d["citations"] == d["groundqa"]["citations"] and d["citations"]
    d = client.post("/v1/chat/completions", json={**body, "model": "extractive", "top_k": 2}).json()
    assert d["groundqa"]["generator"] == "extractive" and len(d["groundqa"]["citations"]) <= 2
    assert_error(client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]}), 400, "invalid_input")
    assert_error(client.post("/v1/chat/completions", json={"messages": "hi"}), 422, "invalid_request")
    assert_error(client.post("/v1/chat/completions", json={**body, "collection": "zzz-none"}), 404, "collection_not_found")
    assert_error(client.post("/v1/chat/completions", json={**body, "stream": True, "collection": "zzz-none"}), 404,
                 "collection_not_found")


@pytest.mark.unit
def test_openai_client_library_in_process(client, tmp_path):
    import openai

    oc = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client, max_retries=0)
    completion = oc.chat.completions.create(model="groundqa", messages=[{"role": "user", "content": US_VOTE}])
    assert "against" in completion.choices[0].message.content
    citations = completion.model_extra["citations"]
    assert citations and SEED_TEXT[citations[0]["start"]:citations[0]["end"]] == citations[0]["quote"]

    chunks = list(oc.chat.completions.create(model="groundqa", stream=True, messages=[{"role": "user", "content": US_VOTE}]))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text == completion.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["citations"] == citations

    with pytest.raises(openai.BadRequestError) as info:
        oc.chat.completions.create(model="groundqa", messages=[{"role": "user", "content": "  "}])
    assert info.value.body["code"] == "empty_question"
    with pytest.raises(openai.APIError, match="went away"):  # an error after the stream began
        list(oc.chat.completions.create(model="broken", stream=True, messages=[{"role": "user", "content": US_VOTE}]))
    assert [m.id for m in oc.models.list()][0] == "groundqa"


@pytest.mark.unit
def test_openai_client_sees_401_with_a_wrong_key(tmp_path):
    import openai

    s = open_fake(tmp_path / "home", api_key="right")
    with make_client(s) as c:
        bad = openai.OpenAI(base_url="http://testserver/v1", api_key="wrong", http_client=c, max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(model="groundqa", messages=[{"role": "user", "content": "Hi"}])
        s.ingest([SEED_FILE])
        ok = openai.OpenAI(base_url="http://testserver/v1", api_key="right", http_client=c, max_retries=0)
        assert ok.chat.completions.create(model="groundqa", messages=[{"role": "user", "content": US_VOTE}]).choices


@pytest.mark.unit
def test_twenty_concurrent_asks_get_their_own_answers(client, service):
    words = ("really exactly precisely formally officially finally actually specifically ultimately publicly "
             "initially overall again openly clearly quietly firmly broadly largely mainly").split()
    questions = [f"How did the US vote, {w}?" for w in words]  # answerable: a refusal would not call the generator

    def ask(q):
        return client.post("/v1/ask", json={"question": q, "generator": "echo"})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(ask, questions))
    assert [r.status_code for r in responses] == [200] * 20
    assert [r.json()["question"] for r in responses] == questions
    assert [r.json()["raw_answer"] for r in responses] == questions  # each generator call saw its own question


class GatedEmbedder(HashEmbedder):
    """Blocks while embedding any text that contains GATE, until released: an ingest that takes as long as we like."""

    def __init__(self):
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed(self, texts):
        if any("GATE" in t for t in texts):
            self.entered.set()
            assert self.release.wait(60)
        return super().embed(texts)


@pytest.mark.unit
def test_questions_are_answered_while_an_ingest_embeds(tmp_path):
    embedder = GatedEmbedder()
    s = open_fake(tmp_path / "home", embedder=embedder)
    s.ingest([SEED_FILE])
    with make_client(s) as c:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(upload, c, ("gate.txt", b"GATE: the lighthouse keeper was Ada Brennan.", "text/plain"))
            assert embedder.entered.wait(30)
            # The ingest is stuck embedding; questions still run and see the collection as it was.
            during = c.post("/v1/ask", json={"question": US_VOTE})
            assert during.status_code == 200 and during.json()["citations"]
            assert [d["source"] for d in c.get("/v1/documents").json()["documents"]] == [str(SEED_FILE)]
            assert not pending.done()
            embedder.release.set()
            assert pending.result(60).status_code == 201
        assert len(c.get("/v1/documents").json()["documents"]) == 2


@pytest.mark.unit
def test_readers_never_see_half_an_ingest(tmp_path):
    from index.store import ChromaStore

    class PausingStore(ChromaStore):
        """Pauses after writing the first of several documents, inside the ingest's write."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.paused = threading.Event()
            self.resume = threading.Event()
            self.writes = 0

        def upsert(self, name, fingerprint, chunks, vectors):
            super().upsert(name, fingerprint, chunks, vectors)
            self.writes += 1
            if self.writes == 2:  # the seed was write 1; this is the first document of the batch
                self.paused.set()
                assert self.resume.wait(60)

    home = tmp_path / "home"
    s = open_fake(home, store=PausingStore(path=home / "chroma"))
    s.ingest([SEED_FILE])
    with make_client(s) as c, ThreadPoolExecutor(4) as pool:
        ingest = pool.submit(upload, c, ("a.txt", b"Alpha is the first letter.", "text/plain"),
                             ("b.txt", b"Beta is the second letter.", "text/plain"))
        assert s.store.paused.wait(30)  # half of the batch is in Chroma now
        listing = pool.submit(c.get, "/v1/documents")
        question = pool.submit(c.post, "/v1/ask", json={"question": "What is the first letter?", "generator": "extractive"})
        time.sleep(0.3)
        s.store.resume.set()
        assert ingest.result(60).status_code == 201
        names = sorted(Path(d["source"]).name for d in listing.result(60).json()["documents"])
        assert names == sorted([SEED_FILE.name, "a.txt", "b.txt"])  # all of the batch, never half of it
        assert question.result(60).status_code == 200


# --- integration: real models, real servers ------------------------------------------------------------
class LiveServer:
    """A real uvicorn serving the app on a free loopback port, in a thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            assert time.time() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def live(real_service):
    from qa.http import create_app

    with LiveServer(create_app(real_service, ui=True)) as server:
        import httpx

        with httpx.Client(base_url=server.url, timeout=600) as http:
            wait_ready(http)
            yield server, http


@pytest.mark.integration
def test_real_ask_stream_and_ui_over_loopback(live):
    server, http = live
    d = http.post("/v1/ask", json={"question": "How did the US vote?"}).json()
    assert not d["refused"] and d["generator"] == "local" and "against" in d["answer"].lower(), d
    assert all(SEED_TEXT[c["start"]:c["end"]] == c["quote"] for c in d["citations"])
    with http.stream("POST", "/v1/ask/stream", json={"question": "Who met Trump in the Oval Office?"}) as r:
        events = sse_events(r.read().decode())
    assert events[-1][0] == "answer" and len(events) > 2
    answer = json.loads(events[-1][1])
    assert "Macron" in answer["answer"] and answer["raw_answer"] == "".join(json.loads(x)["text"] for _, x in events[:-1])
    assert "<html" in http.get("/").text.lower() and "groundqa" in http.get("/config").text
    assert http.get("/readyz").json()["generator"] == "local"


@pytest.mark.integration
def test_openai_client_against_the_live_server(live):
    import openai

    server, _ = live
    oc = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=600)
    completion = oc.chat.completions.create(model="groundqa", messages=[{"role": "user", "content": "How did the US vote?"}])
    content = completion.choices[0].message.content
    assert "against" in content.lower() and completion.model == "groundqa/local"
    assert any("voting against it" in c["quote"] for c in completion.model_extra["citations"])
    stream = oc.chat.completions.create(model="local", stream=True,
                                        messages=[{"role": "user", "content": "How did the US vote?"}])
    chunks = list(stream)
    streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert "against" in streamed.lower() and chunks[-1].choices[0].finish_reason == "stop"
    final = chunks[-1].model_extra
    lead = f"{final['groundqa']['short_answer']}\n\n" if final["groundqa"]["short_answer"] else ""
    assert lead + final["groundqa"]["answer"] == streamed and final["citations"] == final["groundqa"]["citations"]
    assert all(SEED_TEXT[c["start"]:c["end"]] == c["quote"] for c in final["citations"])


@pytest.mark.integration
def test_twenty_simultaneous_real_asks(live):
    _, http = live
    cases = [("How did the US vote?", "against"), ("Who met Trump in the Oval Office?", "Macron"),
             ("How did China vote on the resolution?", None)]
    questions = [cases[i % len(cases)] for i in range(20)]
    import httpx

    def ask(i):
        q, _ = questions[i]
        with httpx.Client(base_url=http.base_url, timeout=900) as own:
            t = time.perf_counter()
            r = own.post("/v1/ask", json={"question": q})
            return r, time.perf_counter() - t

    t0 = time.perf_counter()
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(ask, range(20)))
    wall = time.perf_counter() - t0
    print(f"\n20 concurrent /v1/ask (local generator): wall {wall:.1f}s, "
          f"per-request max {max(s for _, s in results):.1f}s, min {min(s for _, s in results):.1f}s")
    for (q, expected), (r, _) in zip(questions, results):
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["question"] == q
        if expected is None:
            assert d["refused"], d
        else:
            assert not d["refused"] and expected in d["answer"], d
            assert all(SEED_TEXT[c["start"]:c["end"]] == c["quote"] for c in d["citations"])
            assert d["raw_answer"].strip()  # SmolLM2 wrote each one (one at a time: its lock)


@pytest.mark.integration
def test_real_ingest_while_questions_arrive(tmp_path, real_service):
    """A long real ingest into the collection being asked: every question succeeds, and each sees either
    none of the new documents or all of them."""
    from qa.http import create_app

    s = qa.open(home=tmp_path / "home", generator="extractive", embedder=real_service.embedder)
    s.ingest([SEEDS])
    files = [(f"part{i:02d}.txt", (f"Part {i} of the almanac. " + SEED_TEXT.replace("Macron", f"Macron{i}")).encode(),
              "text/plain") for i in range(12)]
    with LiveServer(create_app(s, ui=False)) as server:
        import httpx

        with httpx.Client(base_url=server.url, timeout=600) as http:
            wait_ready(http)
            with ThreadPoolExecutor(2) as pool:
                ingest = pool.submit(upload, http, *files)
                seen = []
                while not ingest.done():
                    r = http.post("/v1/ask", json={"question": "How did the US vote on the UN resolution condemning Russia's invasion of Ukraine?", "top_k": 20})
                    assert r.status_code == 200, r.text
                    docs = {Path(c["source"]).name for c in r.json()["citations"]}
                    seen.append((ingest.done(), r.json()["answer"]))
                    listed = http.get("/v1/documents").json()["documents"]
                    assert len(listed) in (1, 13), [d["source"] for d in listed]  # before or after, never between
                    assert docs
                assert ingest.result().status_code == 201
            print(f"\n{len(seen)} questions answered while a 12-file real ingest ran")
            assert seen  # at least one question was answered during the ingest
            assert len(http.get("/v1/documents").json()["documents"]) == 13


def start_process(cmd: list[str], ready_url: str, log: Path, timeout: float = 300, env=None) -> subprocess.Popen:
    import httpx

    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(ready_url, timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"{cmd} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.3)


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = start_process([str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                         f"http://127.0.0.1:{port}/api/v2/heartbeat", data / "chroma.log", env=env)
    yield f"http://127.0.0.1:{port}", data / "db"
    stop_process(proc)


@pytest.mark.integration
def test_chroma_server_mode(chroma_server, tmp_path, real_service):
    url, db = chroma_server
    home = tmp_path / "home"
    env = {**os.environ, "GROUNDQA_HOME": str(home)}
    cli = [sys.executable, str(ROOT / "app.py")]
    out = subprocess.run([*cli, "ingest", str(SEEDS), "--chroma-url", url, "--collection", "shared", "--json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == 1
    out = subprocess.run([*cli, "ask", "How did the US vote?", "--chroma-url", url, "--collection", "shared",
                          "--generator", "extractive", "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert not d["refused"] and "against" in d["answer"] and d["collection"] == "shared"
    assert not (home / "chroma").exists()  # nothing went to the embedded store
    assert db.exists() and any(db.iterdir())  # it went to the server's

    # A second process (the HTTP app) sees what the CLI wrote, and writes through the same server.
    from qa.http import create_app

    s = qa.open(home=home, chroma_url=url, collection="shared", generator="extractive", embedder=real_service.embedder)
    from fastapi.testclient import TestClient

    with TestClient(create_app(s, ui=False)) as c:
        assert wait_ready(c)["store"] == url
        assert [d["chunks"] > 0 for d in c.get("/v1/documents").json()["documents"]] == [True]
        r = upload(c, ("lighthouse.txt", b"The lighthouse keeper, Ada Brennan, lit the lamp every night.", "text/plain"))
        assert r.status_code == 201, r.text
        d = c.post("/v1/ask", json={"question": "Who lit the lamp in the lighthouse?"}).json()
        assert "Ada Brennan" in d["answer"] and Path(d["citations"][0]["source"]).name == "lighthouse.txt"
        assert "shared" in {x["name"] for x in c.get("/v1/collections").json()["collections"]}
        doc_id = r.json()["documents"][0]["id"]
        assert c.delete(f"/v1/documents/{doc_id}").status_code == 200
        assert len(c.get("/v1/documents").json()["documents"]) == 1
    out = subprocess.run([*cli, "documents", "--chroma-url", url, "--collection", "shared"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0 and "lighthouse" not in out.stdout and SEED_FILE.name in out.stdout


@pytest.mark.integration
def test_store_unavailable_is_503(tmp_path, real_service):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    s = qa.open(home=tmp_path / "home", chroma_url=f"http://127.0.0.1:{free_port()}", generator="extractive",
                embedder=real_service.embedder)
    with TestClient(create_app(s, ui=False)) as c:
        assert_error(c.post("/v1/ask", json={"question": "How did the US vote?"}), 503, "store_unavailable")
        deadline = time.time() + 60
        while (r := c.get("/readyz")).json()["error"]["code"] == "not_ready" and time.time() < deadline:
            time.sleep(0.1)
        assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text
        assert r.json()["checks"]["store"]["ok"] is False  # readyz: the error contract plus its checks


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    from qa.generators import shipped_gguf_path

    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    port = free_port()
    proc = start_process([sys.executable, "-m", "llama_cpp.server", "--model", str(shipped_gguf_path()), "--host", "127.0.0.1",
                          "--port", str(port), "--n_threads", "2", "--n_ctx", "2048"],
                         f"http://127.0.0.1:{port}/v1/models", log)
    yield f"http://127.0.0.1:{port}/v1"
    stop_process(proc)


@pytest.mark.integration
def test_llama_cpp_server_mode(llama_server, real_service, tmp_path):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    s = qa.open(home=tmp_path / "home", generator="openai", openai_base_url=llama_server, embedder=real_service.embedder)
    s.ingest([SEEDS])
    with TestClient(create_app(s, ui=False)) as c:
        assert wait_ready(c)["generator"] == "openai"
        d = c.post("/v1/ask", json={"question": "How did the US vote?"}).json()
        assert d["generator"] == "openai" and d["raw_answer"].strip(), d  # the server's model really wrote it
        assert not d["refused"] and "against" in d["answer"].lower(), d
        assert all(SEED_TEXT[c_["start"]:c_["end"]] == c_["quote"] for c_ in d["citations"])
        d = c.post("/v1/ask", json={"question": "How did China vote on the resolution?"}).json()
        assert d["refused"] and d["generator"] == "openai"
    # The CLI against the same server, as a deployment would run it.
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "ask", "Who met Trump in the Oval Office?", "--json",
                          "--generator", "openai", "--openai-base-url", llama_server, "--home", str(tmp_path / "home")],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["generator"] == "openai" and "Macron" in d["answer"]
