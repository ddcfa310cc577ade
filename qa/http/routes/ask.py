"""POST /v1/ask and /v1/ask/stream: questions answered with verified citations."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.http.deps import check_generator, check_top_k, get_service, require_key
from qa.http.models import ANSWER_ERRORS, V1_ERRORS, Answer, AskRequest
from qa.http.streaming import answer_events, event_stream

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["questions"],
                   responses={**V1_ERRORS, **ANSWER_ERRORS})


@router.post("/ask", summary="Answer a question with verified citations", response_model=Answer,
             response_model_exclude_unset=True)
async def ask(body: AskRequest, service=Depends(get_service)):
    answer = await run_in_threadpool(service.ask, body.question, body.collection, top_k=check_top_k(body.top_k),
                                     generator=check_generator(service, body.generator), trace=body.trace)
    return answer.to_dict()


@router.post("/ask/stream", summary="Answer a question, streamed as server-sent events",
             description="Events: `token` ({\"text\"}) as the generator writes (unverified draft), then one "
                         "`answer` event with the verified answer JSON (same as /v1/ask), or one `error` event.",
             response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}})
async def ask_stream(body: AskRequest, service=Depends(get_service)):
    generator = check_generator(service, body.generator)
    first, events = await event_stream(service, body.question, body.collection, check_top_k(body.top_k), generator,
                                       trace=body.trace)
    return answer_events(first, events)
