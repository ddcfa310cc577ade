"""GET /metrics: the app's Prometheus metrics (qa/telemetry.py), text format. Needs the API key when one is set."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from qa.http.deps import require_key

router = APIRouter(dependencies=[Depends(require_key)], tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics: requests, answer latency per stage, refusals, errors, sizes",
            response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                                                      "description": "Prometheus text exposition format."}})
async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(request.app.state.metrics.exposition)  # collection sizes read the store
    return Response(body, media_type=CONTENT_TYPE_LATEST)
