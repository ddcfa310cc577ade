"""The HTTP API: groundqa for internal tools, an OpenAI-compatible chat endpoint, health checks, and the
Gradio UI mounted at `/` in the same process.

    from qa.http import create_app
    app = create_app(qa.open())        # then: uvicorn.run(app), or `qa serve`

Every error leaves as `{"error": {"code": str, "message": str}}` with the status of its class in the
project's error tree (index/errors.py), mapped once, below. Model calls block, so they run in worker
threads; the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import threading
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Iterator

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.answers import Answer
from qa.errors import InvalidInput, NotFound, QAError, StoreUnavailable, Unauthorized, UploadTooLarge
from qa.uploads import UPLOAD_TYPES, remove_upload, save_uploads

log = logging.getLogger("groundqa.http")

DOC_ID = re.compile(r"^[0-9a-f]{16}$")
JSON_BODY_LIMIT = 1_000_000  # bytes, for every /v1 route but uploads
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering of the stream


# --- request bodies ----------------------------------------------------------------------------------
class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question, in plain words.")
    collection: str | None = Field(None, description="Collection to search (default: the server's).")
    top_k: int | None = Field(None, description="Passages to retrieve, 1-50.")
    generator: str | None = Field(None, description="local, openai, extractive (default: the server's).")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat-completions body. The question is the last user message; sampling options are accepted
    and ignored (answers are verified, not sampled). Extra fields: `collection`, `top_k`."""

    model_config = ConfigDict(extra="allow")
    model: str = "groundqa"
    messages: list[ChatMessage]
    stream: bool = False
    collection: str | None = None
    top_k: int | None = None


# --- errors ------------------------------------------------------------------------------------------
class NotReady(QAError):
    status = 503
    code = "not_ready"


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "The request body is not valid JSON."
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "invalid_request", "Invalid request: " + "; ".join(parts) + ". See /docs for the request format."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError):  # the one mapping of the error tree
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status >= 500:
            log.warning("%s %s -> %s %s: %s", request.method, request.url.path, exc.status, exc.code, exc.message)
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

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


# --- streaming: a worker thread runs the blocking generator; the loop forwards what it yields --------------
class _ThreadedIterator:
    """Runs `make()` (a blocking iterator) in its own thread, so a slow or vanished client never holds the
    model, and the event loop is never blocked. `cancel()` stops it between items."""

    _END = object()

    def __init__(self, make: Callable[[], Iterator[Any]]):
        self._make = make
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._cancelled = threading.Event()
        threading.Thread(target=self._run, name="groundqa-stream", daemon=True).start()

    def _put(self, item) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody is listening
            self._cancelled.set()

    def _run(self) -> None:
        iterator = None
        try:
            iterator = self._make()
            for item in iterator:
                if self._cancelled.is_set():
                    break
                self._put(("item", item))
        except BaseException as exc:  # handed to the async side, raised there
            self._put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close:
                close()  # releases the model's lock if we stopped early
            self._put(("end", self._END))

    async def next(self) -> Any:
        """The next item, `_END` at the end; re-raises the worker's exception."""
        kind, value = await self._queue.get()
        if kind == "error":
            raise value
        return value

    def cancel(self) -> None:
        self._cancelled.set()


def _sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


# --- the app -----------------------------------------------------------------------------------------
def create_app(service, *, ui: bool = True, warm_up: bool = True) -> FastAPI:
    """The FastAPI app over `service` (a qa.service.Service): /v1 API, /healthz, /readyz, /docs and, with
    `ui`, the Gradio UI at `/`. With `warm_up`, models load in the background at startup (/readyz says when)."""
    config = service.config
    readiness: dict[str, Any] = {"done": not warm_up, "error": None}

    def _warm() -> None:
        try:
            service.warm_up()
        except Exception as exc:  # reported by /readyz, and again by the first request that needs the model
            readiness["error"] = exc
            log.warning("warm-up failed: %s", exc)
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
                    "`Authorization: Bearer <key>`.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.readiness = readiness
    install_error_handlers(app)
    upload_limit = config.max_upload_files * config.max_upload_bytes + 256 * 1024  # + multipart overhead
    app.add_middleware(BodyLimit, limit_for=lambda path: (
        upload_limit if path.rstrip("/") == "/v1/documents" else JSON_BODY_LIMIT if path.startswith("/v1/") else None))

    async def require_key(request: Request) -> None:
        key = config.api_key
        if not key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
            raise Unauthorized("Missing or wrong API key: send the header `Authorization: Bearer <key>` "
                               "with the key this server was started with (GROUNDQA_API_KEY).")

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    def known_generators() -> set[str]:
        return set(service.generator_names())

    def check_top_k(k: int | None) -> int | None:
        if k is not None and not 1 <= k <= 50:  # the service reads 0 as "default"; here it is a mistake
            raise InvalidInput(f"top_k must be an integer from 1 to 50, got {k!r}.")
        return k

    def check_generator(name: str | None) -> str | None:
        if name is not None and name not in known_generators():
            raise InvalidInput(f"Unknown generator {name!r}: choose one of {', '.join(sorted(known_generators()))}.")
        return name

    # --- questions ---------------------------------------------------------------------------------------
    @v1.post("/ask", summary="Answer a question with verified citations")
    async def ask(body: AskRequest) -> dict:
        answer = await run_in_threadpool(service.ask, body.question, body.collection, top_k=check_top_k(body.top_k),
                                         generator=check_generator(body.generator))
        return answer.to_dict()

    async def event_stream(body: AskRequest | ChatRequest, question: str, generator: str | None) -> tuple[Any, _ThreadedIterator]:
        """Start answering in a worker thread; errors before the first event (bad question, no collection)
        are raised here, so they get their own HTTP status rather than an error event."""
        top_k = check_top_k(body.top_k)
        events = _ThreadedIterator(lambda: service.ask_stream(question, body.collection, top_k=top_k, generator=generator))
        try:
            first = await events.next()
        except BaseException:
            events.cancel()
            raise
        return first, events

    async def stream_body(first: Any, events: _ThreadedIterator, render: Callable[[Any], str | None],
                          on_error: Callable[[QAError], str], tail: str = "") -> AsyncIterator[str]:
        try:
            item = first
            while item is not _ThreadedIterator._END:
                text = render(item)
                if text:
                    yield text
                item = await events.next()
            if tail:
                yield tail
        except QAError as exc:
            yield on_error(exc)
        except Exception as exc:
            log.exception("error while streaming")
            yield on_error(QAError(f"Unexpected server error ({type(exc).__name__}); see the server log."))
        finally:
            events.cancel()

    @v1.post("/ask/stream", summary="Answer a question, streamed as server-sent events",
             description="Events: `token` ({\"text\"}) as the generator writes (unverified draft), then one "
                         "`answer` event with the verified answer JSON (same as /v1/ask), or one `error` event.")
    async def ask_stream(body: AskRequest):
        first, events = await event_stream(body, body.question, check_generator(body.generator))

        def render(event) -> str:
            if event.kind == "token":
                return _sse({"text": event.text}, "token")
            return _sse(event.answer.to_dict(), "answer")

        body_iter = stream_body(first, events, render, lambda exc: _sse(exc.to_dict(), "error"))
        return StreamingResponse(body_iter, media_type="text/event-stream", headers=SSE_HEADERS)

    # --- documents and collections -------------------------------------------------------------------------
    @v1.post("/documents", status_code=201, summary="Upload documents (.txt, .md, .pdf, .docx, .html) into a collection")
    async def upload(files: list[UploadFile] = File(..., description=f"One or more {', '.join(UPLOAD_TYPES)} files"),
                     collection: str | None = Form(None)) -> dict:
        name = collection or config.collection
        if len(files) > config.max_upload_files:
            raise UploadTooLarge(f"{len(files)} files in one upload; the limit is {config.max_upload_files}. "
                                 "Send them in smaller batches.")
        received = []
        for f in files:
            data = await f.read(config.max_upload_bytes + 1)
            if len(data) > config.max_upload_bytes:
                raise UploadTooLarge(f"{f.filename!r} is larger than {config.max_upload_bytes:,} bytes, the limit per "
                                     "file (set GROUNDQA_MAX_UPLOAD_BYTES to raise it).")
            received.append((f.filename or "", data))
        saved = await run_in_threadpool(save_uploads, config, name, received)
        report = await run_in_threadpool(service.ingest, [path for path, _ in saved], name)
        result = report.to_dict()
        result["documents"] = [{"id": doc.id, "name": path.name, "source": str(path), "title": doc.title}
                               for path, doc in saved]
        return result

    @v1.get("/documents", summary="List the documents of a collection")
    async def documents(collection: str | None = Query(None)) -> dict:
        docs = await run_in_threadpool(service.documents, collection)
        return {"collection": collection or config.collection,
                "documents": [{"id": d.doc_id, "source": d.source, "title": d.title, "chunks": d.chunks} for d in docs]}

    @v1.delete("/documents/{doc_id}", summary="Delete a document (all its chunks) by id")
    async def delete_document(doc_id: str, collection: str | None = Query(None)) -> dict:
        if not DOC_ID.match(doc_id):
            raise NotFound(f"No document {doc_id!r}: document ids are 16 hex characters, as GET /v1/documents lists them.")
        name = collection or config.collection
        sources = await run_in_threadpool(service.delete_document, doc_id, name)
        removed = [s for s in sources if await run_in_threadpool(remove_upload, config, name, s, doc_id)]
        return {"deleted": doc_id, "collection": name, "sources": sources, "files_removed": removed}

    @v1.get("/collections", summary="List the collections")
    async def collections() -> dict:
        def listing():
            return [{"name": n, "chunks": service.store.count(n)} for n in service.collections()]

        return {"collections": await run_in_threadpool(listing)}

    # --- OpenAI-compatible ----------------------------------------------------------------------------------
    def chat_question(body: ChatRequest) -> str:
        for message in reversed(body.messages):
            if message.role == "user":
                content = message.content
                if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
                    content = " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
                return content or ""
        raise InvalidInput("No user message: send at least one message with role 'user' holding the question.")

    def chat_generator(body: ChatRequest) -> str | None:
        # The model name picks a generator when it names one; anything else ("groundqa", "gpt-4o") means the default.
        return body.model if body.model in known_generators() else None

    def completion_extras(answer: Answer) -> dict:
        return {"citations": [c.to_dict() for c in answer.citations], "groundqa": answer.to_dict()}

    @v1.post("/chat/completions", summary="OpenAI-compatible chat completions (verified answer, citations extra)",
             description="The last user message is the question. `content` is the verified answer; the extra "
                         "top-level fields `citations` and `groundqa` (the /v1/ask answer JSON) carry the evidence. "
                         "Streaming sends the verified answer once it is checked; `: draft` comments keep the "
                         "connection alive meanwhile. Extra body fields: `collection`, `top_k`.")
    async def chat_completions(body: ChatRequest):
        question = chat_question(body)
        generator = chat_generator(body)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            answer = await run_in_threadpool(service.ask, question, body.collection, top_k=check_top_k(body.top_k),
                                             generator=generator)
            return {
                "id": cid, "object": "chat.completion", "created": created, "model": f"groundqa/{answer.generator}",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.lead_text()},
                             "finish_reason": "stop", "logprobs": None}],
                **completion_extras(answer),
            }

        first, events = await event_stream(body, question, generator)
        model = f"groundqa/{generator or config.generator}"

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra})

        def render(event) -> str:
            if event.kind == "token":
                return ": draft\n\n"  # unverified text is never shown as the answer; this keeps the line alive
            answer = event.answer
            return chunk({"content": answer.lead_text()}) + chunk({}, "stop", **completion_extras(answer))

        body_iter = stream_body(first, events, render, lambda exc: _sse(exc.to_dict()) + "data: [DONE]\n\n",
                                tail="data: [DONE]\n\n")

        async def with_role() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            async for part in body_iter:
                yield part

        return StreamingResponse(with_role(), media_type="text/event-stream", headers=SSE_HEADERS)

    @v1.get("/models", summary="OpenAI-compatible model list (groundqa and its generators)")
    async def models() -> dict:
        names = ["groundqa", *sorted(known_generators())]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "groundqa"} for n in names]}

    app.include_router(v1)

    # --- health ------------------------------------------------------------------------------------------
    @app.get("/healthz", summary="Alive")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="Ready: models loaded and store reachable (503 otherwise)")
    async def readyz() -> dict:
        if not readiness["done"]:
            raise NotReady("Loading the models; try again in a few seconds.")
        if readiness["error"] is not None:
            exc = readiness["error"]
            raise NotReady(f"The models could not be loaded: {getattr(exc, 'message', exc)}")
        try:
            await run_in_threadpool(service.store.ping)
        except QAError:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"The store at {getattr(service.store, 'location', '?')} is unreachable: {exc}") from exc
        generator = await run_in_threadpool(service.generator)
        base_url = getattr(generator, "base_url", None)
        if base_url:  # a remote LLM server: it is part of being ready
            await run_in_threadpool(_ping_llm_server, base_url, getattr(generator, "api_key", None))
        return {"status": "ready", "generator": generator.name, "store": getattr(service.store, "location", None)}

    if ui:
        _mount_ui(app, service)
    return app


def _ping_llm_server(base_url: str, api_key: str | None) -> None:
    import httpx

    from qa.errors import GeneratorError

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/models", headers=headers, timeout=5.0)
    except httpx.HTTPError as exc:
        raise NotReady(f"Cannot reach the LLM server at {base_url}: {exc}.") from exc
    if response.status_code >= 400:
        raise GeneratorError(f"The LLM server at {base_url} answered {response.status_code} to GET /models.")


def _mount_ui(app: FastAPI, service) -> None:
    import gradio as gr

    from qa.ui import AUTH_MESSAGE, CSS, build, key_auth

    demo = build(service).queue(default_concurrency_limit=4)
    auth = key_auth(service.config.api_key)
    gr.mount_gradio_app(app, demo, path="/", css=CSS, auth=auth, auth_message=AUTH_MESSAGE if auth else None,
                        max_file_size=service.config.max_upload_bytes)
