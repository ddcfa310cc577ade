"""Streaming: a worker thread runs the blocking generator; the event loop forwards what it yields as
server-sent events."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
from typing import Any, AsyncIterator, Callable, Iterator

from fastapi.responses import StreamingResponse

from qa.errors import QAError

log = logging.getLogger("groundqa.http")

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering of the stream


class _ThreadedIterator:
    """Runs `make()` (a blocking iterator) in its own thread, so a slow or vanished client never holds the
    model, and the event loop is never blocked. `cancel()` stops it between items."""

    _END = object()

    def __init__(self, make: Callable[[], Iterator[Any]], redact: Callable[[str], str] = str):
        self._make = make
        self.redact = redact  # applied to error messages sent to the client (secrets masked)
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._cancelled = threading.Event()
        context = contextvars.copy_context()  # the request's context: its observers hear the answer (qa/trace.py)
        threading.Thread(target=context.run, args=(self._run,), name="groundqa-stream", daemon=True).start()

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


END = _ThreadedIterator._END


def sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def started(make: Callable[[], Any], redact: Callable[[str], str]) -> tuple[Any, _ThreadedIterator]:
    """Start `make()` (a blocking iterator of events) in a worker thread; errors before the first event (bad
    question, no collection) are raised here, so they get their own HTTP status rather than an error event."""
    events = _ThreadedIterator(make, redact=redact)
    try:
        first = await events.next()
    except BaseException:
        events.cancel()
        raise
    return first, events


async def event_stream(service, question: str, collection: str | None, top_k: int | None,
                       generator: str | None, trace: bool = False) -> tuple[Any, _ThreadedIterator]:
    """`service.ask_stream` started in a worker thread (see `started`)."""
    return await started(lambda: service.ask_stream(question, collection, top_k=top_k, generator=generator,
                                                    trace=trace), service.config.redact)


def answer_events(first: Any, events: _ThreadedIterator) -> StreamingResponse:
    """The SSE response of an ask stream: `token` drafts, then one `answer` (the answer JSON), or one `error`."""
    def render(event) -> str:
        if event.kind == "token":
            return sse({"text": event.text}, "token")
        return sse(event.answer.to_dict(), "answer")

    body = stream_body(first, events, render, lambda exc: sse(exc.to_dict(), "error"))
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


async def stream_body(first: Any, events: _ThreadedIterator, render: Callable[[Any], str | None],
                      on_error: Callable[[QAError], str], tail: str = "") -> AsyncIterator[str]:
    try:
        item = first
        while item is not END:
            text = render(item)
            if text:
                yield text
            item = await events.next()
        if tail:
            yield tail
    except QAError as exc:
        exc.message = events.redact(exc.message)
        yield on_error(exc)
    except Exception as exc:
        log.exception("error while streaming")
        yield on_error(QAError(f"Unexpected server error ({type(exc).__name__}); see the server log."))
    finally:
        events.cancel()
