"""POST /v1/feedback: a thumbs up/down (and a comment) on an answer given in a conversation."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from qa.http.deps import get_service, require_key
from qa.http.models import V1_ERRORS, _Open

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["feedback"], responses=V1_ERRORS)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(description="The answer's `answer_id` (an answer given in a conversation).")
    rating: Literal["up", "down"] = Field(description="up (right) or down (wrong).")
    comment: str | None = Field(None, max_length=2000, description="Optional: what was wrong or right.")


class FeedbackStored(_Open):
    answer_id: str
    conversation_id: str
    turn: int
    rating: str
    comment: str | None = None


@router.post("/feedback", summary="Rate an answer (stored with its conversation turn; `qa feedback export` "
                                  "turns ratings into eval cases)", response_model=FeedbackStored)
async def feedback(body: FeedbackRequest, service=Depends(get_service)):
    return await run_in_threadpool(service.feedback, body.answer_id, body.rating, body.comment)
