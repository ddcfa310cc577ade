"""Guards of the HTTP edge: the API key (for /v1 and, through UIGuard, for every UI route), failed-auth
throttling per client, CORS, request-size limits, text that is not Unicode, and secret redaction."""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from collections import deque
from typing import Any, Callable

from fastapi.responses import JSONResponse

from qa.errors import InvalidUnicode, QAError, TooManyRequests, Unauthorized, UploadTooLarge
from qa.http.errors import error_body, error_response

JSON_BODY_LIMIT = 1_000_000  # bytes, for every /v1 route but uploads
KEY_MESSAGE = ("Missing or wrong API key: send the header `Authorization: Bearer <key>` with the key this server "
               "was started with (GROUNDQA_API_KEY).")


def bearer_matches(expected: str, authorization: str) -> bool:
    """Whether `authorization` is `Bearer <expected>` (constant-time comparison)."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


def client_ip(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


# --- failed-auth throttling --------------------------------------------------------------------------------
class AuthThrottle:
    """Counts failed authentications (a wrong API key, a wrong UI password) per client IP; a client with
    `limit` failures in the last `window` seconds gets 429 with Retry-After, for every attempt, right or
    wrong, until the oldest failure leaves the window. Requests without credentials do not count."""

    MAX_CLIENTS = 10_000  # bounded memory: the stalest clients are forgotten first

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque | None:
        failures = self._failures.get(client)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if failures is not None and not failures:
            del self._failures[client]
            return None
        return failures

    def check(self, client: str) -> None:
        """Raises TooManyRequests while `client` is over the limit."""
        with self._lock:
            now = self.clock()
            failures = self._recent(client, now)
            if failures is None or len(failures) < self.limit:
                return
            retry_after = max(1, math.ceil(failures[0] + self.window - now))
        raise TooManyRequests(f"Too many failed authentications from {client} ({self.limit} in {self.window:g} s); "
                              f"try again in {retry_after} s with the right key (GROUNDQA_API_KEY).",
                              retry_after=retry_after)

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            if client not in self._failures and len(self._failures) >= self.MAX_CLIENTS:
                for stale in sorted(self._failures, key=lambda c: self._failures[c][-1])[: self.MAX_CLIENTS // 10]:
                    del self._failures[stale]
            self._failures.setdefault(client, deque(maxlen=max(self.limit, 1))).append(now)


def authenticate(request, config) -> None:
    """The /v1 key check, throttled per client: 429 while over the limit, 401 for a missing or wrong key (a
    wrong one counts as a failure)."""
    if not config.api_key:
        return
    throttle: AuthThrottle = request.app.state.auth_throttle
    client = client_ip(request.scope)
    throttle.check(client)
    authorization = request.headers.get("authorization", "")
    if not bearer_matches(config.api_key, authorization):
        if authorization:
            throttle.failed(client)
        raise Unauthorized(KEY_MESSAGE)


# --- the UI behind the key -----------------------------------------------------------------------------------
# What a browser needs before logging in: the login page, its assets, the login form. Everything else the UI
# serves (its config, queue, heartbeat, files, API) needs the key: Gradio's login cookie or the Bearer header.
UI_PUBLIC_PATHS = frozenset({"/", "/login", "/login/", "/logout", "/config", "/config/", "/manifest.json",
                             "/favicon.ico", "/theme.css", "/robots.txt", "/gradio_api/login_check",
                             "/gradio_api/login_check/", "/gradio_api/startup-events"})  # (launch() calls it itself)
UI_PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
API_PATHS = ("/v1/", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json")  # guarded (or public) by their routes


class UIGuard:
    """With an API key set: every path outside /v1, health and docs (that is, the UI's) needs the key, as
    Gradio's login cookie or `Authorization: Bearer <key>`, except the login page and its assets; UI logins
    (POST /login) are throttled per client like wrong API keys."""

    def __init__(self, app, *, api_key: str | None, throttle: AuthThrottle):
        self.app = app
        self.api_key = api_key
        self.throttle = throttle

    async def __call__(self, scope, receive, send):
        if not self.api_key or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == "/v1" or path.startswith(API_PATHS):
            return await self.app(scope, receive, send)
        if path.rstrip("/") == "/login" and scope.get("method") == "POST":
            return await self._login(scope, receive, send)
        if path in UI_PUBLIC_PATHS or path.startswith(UI_PUBLIC_PREFIXES) or self._authenticated(scope):
            return await self.app(scope, receive, send)
        throttle = self.throttle
        client = client_ip(scope)
        try:
            throttle.check(client)
            if dict(scope.get("headers") or []).get(b"authorization"):
                throttle.failed(client)  # a wrong key presented
            raise Unauthorized("This page needs the server's API key: log in at / (any user name, the key as "
                               "password) or send `Authorization: Bearer <key>`.")
        except QAError as exc:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await error_response(exc)(scope, receive, send)

    def _authenticated(self, scope) -> bool:
        headers = dict(scope.get("headers") or [])
        if bearer_matches(self.api_key, headers.get(b"authorization", b"").decode("latin-1")):
            return True
        ui = _gradio_app(scope["app"])
        if ui is None:
            return False
        cookies = _cookies(headers.get(b"cookie", b"").decode("latin-1"))
        names = (f"access-token-{ui.cookie_id}", f"access-token-unsecure-{ui.cookie_id}")
        return any(cookies.get(name) in ui.tokens for name in names if cookies.get(name))

    async def _login(self, scope, receive, send):
        throttle = self.throttle
        client = client_ip(scope)
        try:
            throttle.check(client)
        except TooManyRequests as exc:
            return await error_response(exc)(scope, receive, send)
        status = 0

        async def watching(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watching)
        if status >= 400:
            throttle.failed(client)


def _gradio_app(app):
    """The Gradio app whose login tokens count: mounted under the API app (create_app sets `ui_app`), or the
    app itself when Gradio serves alone (`qa ui`)."""
    ui = getattr(app.state, "ui_app", None)
    return ui if ui is not None else app if hasattr(app, "tokens") and hasattr(app, "cookie_id") else None


def ui_guard_middleware(config) -> list:
    """UIGuard as Starlette middleware for a Gradio app served on its own (`demo.launch(app_kwargs=...)`)."""
    from starlette.middleware import Middleware

    if not config.api_key:
        return []
    throttle = AuthThrottle(config.auth_failures, config.auth_window_s)
    return [Middleware(UIGuard, api_key=config.api_key, throttle=throttle)]


def _cookies(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name] = value
    return out


# --- CORS and redaction -----------------------------------------------------------------------------------------
def install_cors(app, config) -> None:
    """CORS for the origins in GROUNDQA_CORS_ORIGINS only (none by default). Installed also when none are
    listed: it replaces the mounted UI's own CORS (which trusts any origin of a non-localhost host)."""
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(CORSMiddleware, allow_origins=config.allowed_origins, allow_credentials=False,
                       allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"],
                       expose_headers=["Retry-After"], max_age=600)


def redact_json(value: Any, config) -> Any:
    """`value` (parsed JSON) with the secrets of `config` and URL credentials masked in every string."""
    if isinstance(value, str):
        return config.redact(value)
    if isinstance(value, dict):
        return {k: redact_json(v, config) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v, config) for v in value]
    return value


class BodyLimit:
    """Refuses request bodies over a size limit before they are parsed (Content-Length or streamed bytes)."""

    def __init__(self, app, limit_for: Callable[[str], int | None]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = JSONResponse(error_body(UploadTooLarge.code, _too_large(int(declared), limit)), status_code=413)
            return await response(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise UploadTooLarge(_too_large(seen, limit))
            return message

        return await self.app(scope, limited_receive, send)


def _too_large(size: int, limit: int) -> str:
    return (f"The request body is {size:,} bytes; the limit is {limit:,}. Send less at once "
            "(limits: GROUNDQA_MAX_UPLOAD_BYTES per file, GROUNDQA_MAX_UPLOAD_FILES per upload).")


def body_limit_for(config) -> Callable[[str], int | None]:
    upload_limit = config.max_upload_files * config.max_upload_bytes + 256 * 1024  # + multipart overhead
    return lambda path: (upload_limit if path.rstrip("/") == "/v1/documents"
                         else JSON_BODY_LIMIT if path.startswith("/v1/") else None)


class ValidText:
    """Refuses /v1 JSON bodies that are not valid Unicode (undecodable UTF-8, or a lone surrogate escape such
    as "\\ud800" anywhere in the document) with 400 invalid_unicode, before any route sees them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or not _is_json(scope):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        try:
            while more:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
        except QAError as exc:  # the body limit, enforced while reading
            return await JSONResponse(exc.to_dict(), status_code=exc.status)(scope, receive, send)
        body = b"".join(chunks)
        problem = invalid_text(body)
        if problem:
            message = f"The request body is not valid Unicode: {problem}. Send UTF-8 JSON text."
            response = JSONResponse(error_body(InvalidUnicode.code, message), status_code=400)
            return await response(scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


def _is_json(scope) -> bool:
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
    return content_type == b"application/json" or content_type.endswith(b"+json")


def invalid_text(body: bytes) -> str | None:
    """Why `body` (JSON) is not valid Unicode, or None; a body that is not JSON is left to the JSON parser."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start} is not UTF-8"
    if b"\\u" not in body and b"\\U" not in body:
        return None  # no escapes: decoded UTF-8 cannot hold a surrogate
    try:
        document = json.loads(body)
    except ValueError:
        return None
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in item):
                return "a lone surrogate escape (such as \\ud800) in a string"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
