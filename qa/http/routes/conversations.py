"""Saved conversations: create, list, read, delete, and ask within one (follow-ups resolved against the
earlier turns; qa/conversations.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from qa.http.deps import check_generator, check_top_k, get_service, require_key
from qa.http.models import ANSWER_ERRORS, V1_ERRORS, Answer, CollectionName, _Open
from qa.http.streaming import answer_events, started

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["conversations"], responses=V1_ERRORS)


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collection: CollectionName | None = Field(None, description="Collection the conversation searches (default: the "
                                                                "server's).")
    generator: StrictStr | None = Field(None, description="local, openai, extractive (default: the server's).")


class TurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(description="The next question; a follow-up is resolved against the earlier turns.")
    top_k: StrictInt | None = Field(None, description="Passages to retrieve, 1-50.")
    generator: StrictStr | None = Field(None, description="local, openai, extractive (default: the conversation's).")


class ConversationInfo(_Open):
    id: str
    collection: str
    generator: str | None = None
    title: str = Field("", description="The first question, shortened.")
    turns: int = Field(description="Number of turns.")
    created: float
    updated: float


class TurnOut(_Open):
    n: int
    question: str
    standalone_question: str = Field(description="What was searched for: the question rewritten to stand alone.")
    rewrite: str = Field(description="How: unchanged, deterministic or model.")
    answer: Answer
    rating: int | None = Field(None, description="1 thumbs up, -1 thumbs down, null when not rated.")
    comment: str | None = None


class ConversationOut(_Open):
    id: str
    collection: str
    generator: str | None = None
    title: str = ""
    created: float
    updated: float
    turns: list[TurnOut]


class ConversationList(_Open):
    conversations: list[ConversationInfo]


@router.post("/conversations", summary="Start a conversation", response_model=ConversationInfo, status_code=201)
async def create(body: NewConversation | None = None, service=Depends(get_service)):
    body = body or NewConversation()
    generator = check_generator(service, body.generator)
    conv = await run_in_threadpool(service.conversation, None, collection=body.collection, generator=generator)
    return (await run_in_threadpool(conv.to_dict, False))


@router.get("/conversations", summary="List the saved conversations, most recent first",
            response_model=ConversationList)
async def listing(service=Depends(get_service)):
    return {"conversations": [c.to_dict() for c in await run_in_threadpool(service.conversations)]}


@router.get("/conversations/{conversation_id}", summary="A conversation with its turns and their answers",
            response_model=ConversationOut, response_model_exclude_unset=True)
async def read(conversation_id: str, service=Depends(get_service)):
    def get():
        return service.conversation(conversation_id).to_dict()

    return await run_in_threadpool(get)


@router.delete("/conversations/{conversation_id}", summary="Delete a conversation and its turns")
async def delete(conversation_id: str, service=Depends(get_service)):
    await run_in_threadpool(service.delete_conversation, conversation_id)
    return {"deleted": conversation_id}


@router.post("/conversations/{conversation_id}/ask", summary="Ask the next question of a conversation",
             response_model=Answer, response_model_exclude_unset=True, responses=ANSWER_ERRORS)
async def ask(conversation_id: str, body: TurnRequest, service=Depends(get_service)):
    def run():
        conv = service.conversation(conversation_id)
        return conv.ask(body.question, top_k=check_top_k(body.top_k),
                        generator=check_generator(service, body.generator) or conv.generator)

    return (await run_in_threadpool(run)).to_dict()


@router.post("/conversations/{conversation_id}/ask/stream", summary="Ask the next question, streamed (SSE)",
             description="Events as /v1/ask/stream: `token` drafts, then one `answer` (with `standalone_question` "
                         "and `conversation_id`), or one `error` event.",
             response_class=StreamingResponse, responses={**ANSWER_ERRORS,
                                                          200: {"content": {"text/event-stream": {}},
                                                                "description": "Server-sent events"}})
async def ask_stream(conversation_id: str, body: TurnRequest, service=Depends(get_service)):
    conv = await run_in_threadpool(service.conversation, conversation_id)
    top_k, generator = check_top_k(body.top_k), check_generator(service, body.generator) or conv.generator
    first, events = await started(lambda: conv.ask_stream(body.question, top_k=top_k, generator=generator),
                                  service.config.redact)
    return answer_events(first, events)
