"""OpenAI-compatible endpoints: POST /v1/chat/completions and GET /v1/models."""

from __future__ import annotations

import time
import uuid
from typing import AsyncIterator

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.answers import Answer
from qa.errors import InvalidInput
from qa.http.deps import check_top_k, get_service, known_generators, require_key
from qa.http.models import ANSWER_ERRORS, V1_ERRORS, ChatCompletion, ChatRequest, ModelList
from qa.http.streaming import SSE_HEADERS, event_stream, sse, stream_body

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["openai"],
                   responses={**V1_ERRORS, **ANSWER_ERRORS})


def chat_question(body: ChatRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            content = message.content
            if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
                content = " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
            return content or ""
    raise InvalidInput("No user message: send at least one message with role 'user' holding the question.")


def chat_messages(body: ChatRequest) -> list[tuple[str, str]]:
    """The conversation as (role, text): user and assistant messages with text, the last user message kept."""
    out = []
    for message in body.messages:
        content = message.content
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
        if message.role in ("user", "assistant") and content and content.strip():
            out.append((message.role, content))
    return out


def searched_for(service, body: ChatRequest, question: str) -> str | None:
    """With earlier turns in `messages`, the last question made standalone against them (qa/conversations.py);
    None for a single question."""
    messages = chat_messages(body)
    if sum(role == "user" for role, _ in messages) < 2 or messages[-1] != ("user", question):
        return None
    return service.resolve(messages).standalone


def chat_generator(service, body: ChatRequest) -> str | None:
    # The model name picks a generator when it names one; anything else ("groundqa", "gpt-4o") means the default.
    return body.model if body.model in known_generators(service) else None


def completion_extras(answer: Answer) -> dict:
    return {"citations": [c.to_dict() for c in answer.citations], "groundqa": answer.to_dict()}


@router.post("/chat/completions", summary="OpenAI-compatible chat completions (verified answer, citations extra)",
             description="The last user message is the question, resolved against the earlier user and assistant "
                         "messages when it is a follow-up (`groundqa.standalone_question`: what was searched). "
                         "`content` is the verified answer; the extra "
                         "top-level fields `citations` and `groundqa` (the /v1/ask answer JSON) carry the evidence. "
                         "Streaming sends the verified answer once it is checked; `: draft` comments keep the "
                         "connection alive meanwhile. Extra body fields: `collection`, `top_k`.",
             response_model=ChatCompletion, response_model_exclude_unset=True,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "The completion; with `stream`, server-sent chunks"}})
async def chat_completions(body: ChatRequest, service=Depends(get_service)):
    question = chat_question(body)
    generator = chat_generator(service, body)
    standalone = await run_in_threadpool(searched_for, service, body, question)
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def in_context(answer: Answer) -> Answer:  # the answer to the standalone question, shown as the turn's
        if standalone is not None:
            answer.question, answer.standalone_question = question, standalone
        return answer

    if not body.stream:
        answer = in_context(await run_in_threadpool(service.ask, standalone or question, body.collection,
                                                    top_k=check_top_k(body.top_k), generator=generator))
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": f"groundqa/{answer.generator}",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.lead_text()},
                         "finish_reason": "stop", "logprobs": None}],
            **completion_extras(answer),
        }

    first, events = await event_stream(service, standalone or question, body.collection, check_top_k(body.top_k),
                                       generator)
    model = f"groundqa/{generator or service.config.generator}"

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        return sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra})

    def render(event) -> str:
        if event.kind == "token":
            return ": draft\n\n"  # unverified text is never shown as the answer; this keeps the line alive
        answer = in_context(event.answer)
        return chunk({"content": answer.lead_text()}) + chunk({}, "stop", **completion_extras(answer))

    body_iter = stream_body(first, events, render, lambda exc: sse(exc.to_dict()) + "data: [DONE]\n\n",
                            tail="data: [DONE]\n\n")

    async def with_role() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        async for part in body_iter:
            yield part

    return StreamingResponse(with_role(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/models", summary="OpenAI-compatible model list (groundqa and its generators)", response_model=ModelList,
            response_model_exclude_unset=True)
async def models(service=Depends(get_service)):
    names = ["groundqa", *sorted(known_generators(service))]
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "groundqa"} for n in names]}
