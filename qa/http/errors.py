"""The one error mapping of the HTTP edge: every error leaves as `{"error": {"code", "message"}}` with the
status of its class in the project's error tree (index/errors.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.errors import QAError, TooManyRequests

log = logging.getLogger("groundqa.http")


class NotReady(QAError):
    status = 503
    code = "not_ready"


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(exc: QAError, config=None) -> JSONResponse:
    """The error contract for `exc`, with its headers (WWW-Authenticate for 401, Retry-After for 429) and
    secrets redacted from the message."""
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    message = config.redact(exc.message) if config is not None else exc.message
    return JSONResponse(error_body(exc.code, message), status_code=exc.status, headers=headers or None)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "The request body is not valid JSON."
    empty = [e for e in errors if e.get("type") == "empty_collection"]
    if empty:
        where = ".".join(str(p) for p in empty[0].get("loc", ()) if p not in ("body", "query", "form"))
        return 400, "invalid_collection_name", (f"{where or 'collection'}: an empty collection name. Leave it out "
                                                "(or send null) for the server's default collection.")
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "invalid_request", "Invalid request: " + "; ".join(parts) + ". See /docs for the request format."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError):  # the one mapping of the error tree
        config = request.app.state.service.config
        if exc.status >= 500:
            log.warning("%s %s -> %s %s: %s", request.method, request.url.path, exc.status, exc.code,
                        config.redact(exc.message))
        return error_response(exc, config)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        status, code, message = _validation_message(exc)
        return JSONResponse(error_body(code, message), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404:
            message = f"No such route: {request.method} {request.url.path}. See /docs for the API."
        return JSONResponse(error_body(codes.get(exc.status_code, "http_error"), message),
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", f"Unexpected server error ({type(exc).__name__}); "
                                                          "see the server log."), status_code=500)
