"""The FastAPI app: the routers of qa/http/routes, the error mapping, middleware, and the Gradio UI at `/`."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match, Mount

from qa.http.errors import install_error_handlers
from qa.http.logging import install_telemetry
from qa.http.routes import ROUTERS
from qa.http.security import AuthThrottle, BodyLimit, UIGuard, ValidText, body_limit_for, install_cors

log = logging.getLogger("groundqa.http")


def create_app(service, *, ui: bool = True, warm_up: bool = True) -> FastAPI:
    """The FastAPI app over `service` (a qa.service.Service): /v1 API, /healthz, /readyz, /docs and, with
    `ui`, the Gradio UI at `/`. With `warm_up`, models load in the background at startup (/readyz says when)."""
    readiness: dict[str, Any] = {"done": not warm_up, "error": None}

    def _warm() -> None:
        try:
            service.warm_up()
        except Exception as exc:  # reported by /readyz, and again by the first request that needs the model
            readiness["error"] = exc
            log.warning("warm-up failed: %s", service.config.redact(str(exc)))
        finally:
            readiness["done"] = True

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm_up:
            threading.Thread(target=_warm, name="groundqa-warm-up", daemon=True).start()
        yield

    app = FastAPI(
        title="groundqa",
        version="0.1.0",
        description="Answers from your own documents, with citations the program has verified. "
                    "Errors: `{\"error\": {\"code\", \"message\"}}`. With GROUNDQA_API_KEY set, /v1 needs "
                    "`Authorization: Bearer <key>` (and the UI its login); repeated wrong keys from one client get "
                    "429 with `Retry-After`. CORS allows only the origins in GROUNDQA_CORS_ORIGINS.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.readiness = readiness
    app.state.auth_throttle = AuthThrottle(service.config.auth_failures, service.config.auth_window_s)
    install_error_handlers(app)
    # Middleware, innermost first (each add_middleware wraps the ones before it):
    app.add_middleware(ValidText)  # invalid Unicode in /v1 JSON bodies -> 400
    app.add_middleware(BodyLimit, limit_for=body_limit_for(service.config))  # outside ValidText: limits its read
    if ui:
        app.add_middleware(UIGuard, api_key=service.config.api_key,  # every UI route behind the key, if one is set
                           throttle=app.state.auth_throttle)
    install_cors(app, service.config)  # only GROUNDQA_CORS_ORIGINS; outside the guard so its 401s carry CORS
    install_telemetry(app, service)  # metrics and the JSON request log, outermost (qa/http/logging.py)
    for router in ROUTERS:
        app.include_router(router)
    if ui:
        _mount_ui(app, service)
    return app


class _UIMount(Mount):
    """The UI's mount at `/`, leaving /v1 to the API: unknown /v1 routes and wrong methods there get the error
    contract (404/405) instead of the UI's own 404."""

    def matches(self, scope):
        path = scope.get("path", "")
        if path == "/v1" or path.startswith("/v1/"):
            return Match.NONE, {}
        return super().matches(scope)


def _mount_ui(app: FastAPI, service) -> None:
    import gradio as gr

    from qa.ui import AUTH_MESSAGE, CSS, build, key_auth

    demo = build(service).queue(default_concurrency_limit=4)
    auth = key_auth(service.config.api_key)
    gr.mount_gradio_app(app, demo, path="/", css=CSS, auth=auth, auth_message=AUTH_MESSAGE if auth else None,
                        max_file_size=service.config.max_upload_bytes)
    mount = app.router.routes[-1]  # mount_gradio_app's Mount("/")
    assert isinstance(mount, Mount) and mount.path == "", mount
    app.router.routes[-1] = _UIMount(mount.path, app=mount.app, name=mount.name)
    app.state.ui_app = mount.app  # UIGuard reads its login tokens
