"""Exposure at the HTTP edge (issue 14.5): secrets redacted in /readyz, errors and logs; CORS off unless
GROUNDQA_CORS_ORIGINS lists the origin; failed authentications throttled per client (429 + Retry-After);
every UI route behind the key when one is set."""

from __future__ import annotations

import json
import logging

import pytest

from qa.config import Config, redact, redact_url
from qa.errors import GeneratorError, ModelUnavailable
from qa.http.security import AuthThrottle
from tests.conftest import SEED_FILE
from tests.fakes import ScriptedGenerator
from tests.qa.test_http import US_VOTE, assert_error, make_client, open_fake, sse_events

KEY = "s3cret-key-42"
LLM_URL = "http://bob:hunter22@llm.internal:8080/v1"


# --- redaction ------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_redact_masks_url_credentials_tokens_and_known_secrets():
    text = f"at {LLM_URL} with Bearer abc.def-ghi, key {KEY}, https://x.io/v1?api_key=zz9&y=1 and hunter22"
    out = redact(text, ("hunter22", KEY))
    assert "hunter22" not in out and KEY not in out and "abc.def" not in out and "zz9" not in out, out
    assert "http://***@llm.internal:8080/v1" in out and "Bearer ***" in out and "y=1" in out
    assert redact_url("https://u:p@chroma:8000") == "https://***@chroma:8000"
    assert redact("a plain message, http://host/v1", ()) == "a plain message, http://host/v1"


@pytest.mark.unit
def test_config_knows_its_secrets_and_shows_them_masked():
    config = Config(api_key=KEY, openai_api_key="sk-openai-123", openai_base_url=LLM_URL,
                    chroma_url="https://admin:pa55word@chroma.internal:8000")
    assert set(config.secrets()) == {KEY, "sk-openai-123", "hunter22", "pa55word"}
    shown = json.dumps(config.redacted(), default=str)
    for secret in config.secrets():
        assert secret not in shown
    assert config.redacted()["openai_base_url"] == "http://***@llm.internal:8080/v1"
    assert config.redacted()["api_key"] == "***" and config.redacted()["openai_model"] == "default"


def _unreachable_llm(tmp_path, **options):
    class Remote(ScriptedGenerator):
        base_url = LLM_URL

        def load(self):
            raise ModelUnavailable(f"Cannot reach the LLM server at {LLM_URL}: connection refused (key {KEY}).")

    def failing(question, passages):  # fails mid-answer: an `error` event when streamed
        yield "The US"
        raise GeneratorError(f"The LLM server at {LLM_URL} answered 500 (Authorization: Bearer {KEY}).")

    remote = Remote(lambda q, p: "", name="remote")
    remote.stream = failing
    return open_fake(tmp_path / "home", generator="remote", generators={"remote": remote},
                     openai_base_url=LLM_URL, **options)


@pytest.mark.unit
def test_readyz_and_errors_never_show_secrets(tmp_path, caplog):
    service = _unreachable_llm(tmp_path, api_key=KEY)
    service.ingest([SEED_FILE])
    auth = {"Authorization": f"Bearer {KEY}"}
    with caplog.at_level(logging.WARNING), make_client(service) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert "llm.internal" in ready.text  # the message still says where
        ask = c.post("/v1/ask", json={"question": US_VOTE}, headers=auth)
        assert_error(ask, 502, "generator_error")
        assert "llm.internal" in ask.text
        stream = c.post("/v1/ask/stream", json={"question": US_VOTE}, headers=auth).text
        assert [e for e, _ in sse_events(stream)][-1] == "error"
        chat = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": US_VOTE}],
                                                     "stream": True}, headers=auth).text
        for text in (ready.text, ask.text, stream, chat, caplog.text):
            assert "hunter22" not in text and KEY not in text, text
    assert "llm.internal" in caplog.text  # the failures were logged, redacted


# --- CORS -------------------------------------------------------------------------------------------------------
def _preflight(client, origin: str, path: str = "/v1/ask"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization,content-type"})


@pytest.mark.unit
@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:8000", "https://evil.example", "null"])
def test_cors_is_off_by_default_also_for_the_ui(tmp_path, origin):
    service = open_fake(tmp_path / "home")
    with make_client(service, ui=True) as c:
        for response in (_preflight(c, origin), c.get("/v1/models", headers={"Origin": origin}),
                         c.get("/config", headers={"Origin": origin, "Host": "qa.example.com"}),
                         c.get("/config", headers={"Origin": origin})):
            assert "access-control-allow-origin" not in response.headers, (response.url, response.headers)
            assert "access-control-allow-credentials" not in response.headers


@pytest.mark.unit
def test_cors_allows_the_listed_origins_only(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUNDQA_CORS_ORIGINS", "https://tools.example, https://wiki.example/")
    service = open_fake(tmp_path / "home", api_key=KEY)
    assert service.config.allowed_origins == ["https://tools.example", "https://wiki.example"]
    with make_client(service) as c:
        ok = _preflight(c, "https://wiki.example")
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://wiki.example"
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in ok.headers  # the key goes in a header, not a cookie
        denied = c.get("/v1/models", headers={"Origin": "https://tools.example"})  # 401: still carries CORS
        assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "https://tools.example"
        assert "access-control-allow-origin" not in _preflight(c, "https://evil.example").headers
        assert "access-control-allow-origin" not in c.get("/v1/models", headers={"Origin": "http://localhost"}).headers


# --- failed-auth throttling -----------------------------------------------------------------------------------------
@pytest.mark.unit
def test_the_throttle_counts_failures_per_client_within_the_window():
    now = [1000.0]
    throttle = AuthThrottle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("a")
        throttle.failed("a")
    with pytest.raises(Exception) as caught:
        throttle.check("a")
    assert caught.value.status == 429 and caught.value.retry_after == 60
    throttle.check("b")  # another client is not affected
    now[0] += 30
    with pytest.raises(Exception) as caught:
        throttle.check("a")
    assert caught.value.retry_after == 30
    now[0] += 30.5
    throttle.check("a")  # the failures have left the window


@pytest.mark.unit
def test_wrong_keys_are_throttled_then_429_with_retry_after(tmp_path):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    service = open_fake(tmp_path / "home", api_key=KEY, auth_failures=5, auth_window_s=120)
    app = create_app(service, ui=False)
    with TestClient(app, client=("203.0.113.7", 4000)) as attacker, TestClient(app, client=("198.51.100.2", 4000)) as other:
        for _ in range(3):
            assert_error(attacker.get("/v1/models"), 401, "unauthorized")  # no key presented: not counted
        for _ in range(5):
            assert_error(attacker.get("/v1/models", headers={"Authorization": "Bearer guess"}), 401, "unauthorized")
        for headers in ({"Authorization": "Bearer guess"}, {"Authorization": f"Bearer {KEY}"}):
            r = attacker.get("/v1/models", headers=headers)
            message = assert_error(r, 429, "too_many_requests")
            assert 1 <= int(r.headers["retry-after"]) <= 120 and "try again" in message
        assert assert_error(attacker.post("/v1/ask", json={"question": "x"}), 429, "too_many_requests")
        assert other.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert attacker.get("/healthz").status_code == 200


@pytest.mark.unit
def test_ui_logins_are_throttled(tmp_path):
    service = open_fake(tmp_path / "home", api_key=KEY, auth_failures=4)
    with make_client(service, ui=True) as c:
        for _ in range(4):
            assert c.post("/login", data={"username": "u", "password": "wrong"}).status_code == 400
        r = c.post("/login", data={"username": "u", "password": KEY})
        assert_error(r, 429, "too_many_requests")
        assert int(r.headers["retry-after"]) >= 1


# --- the UI behind the key -----------------------------------------------------------------------------------------
@pytest.mark.unit
def test_every_ui_route_needs_the_key(tmp_path):
    service = open_fake(tmp_path / "home", api_key=KEY, auth_failures=1000)
    with make_client(service, ui=True) as c:
        login_page = c.get("/")
        assert login_page.status_code == 200  # the login page and its assets are public
        for asset in {a for a in login_page.text.split('"') if a.startswith("./assets/")}:
            assert c.get(asset[1:]).status_code == 200, asset
        for path in ("/gradio_api/heartbeat/abc123", "/gradio_api/info", "/gradio_api/queue/data?session_hash=x",
                     "/gradio_api/upload_progress?upload_id=x", "/gradio_api/file=/etc/passwd", "/monitoring",
                     "/gradio_api/call/chat", "/gradio_api/mcp/sse"):
            assert_error(c.get(path), 401, "unauthorized")
            assert_error(c.get(path, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
        assert_error(c.post("/gradio_api/queue/join", json={}), 401, "unauthorized")
        assert_error(c.post("/gradio_api/upload", files={"files": ("a.txt", b"x")}), 401, "unauthorized")
        # once logged in (Gradio's cookie), the UI answers
        assert c.post("/login", data={"username": "anyone", "password": KEY}).status_code == 200
        assert c.get("/gradio_api/info").status_code == 200
        assert c.get("/config").status_code == 200


@pytest.mark.unit
def test_without_a_key_the_ui_is_open(tmp_path):
    service = open_fake(tmp_path / "home")
    with make_client(service, ui=True) as c:
        assert c.get("/gradio_api/info").status_code == 200
