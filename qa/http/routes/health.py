"""GET /healthz (alive) and GET /readyz (ready to answer and ingest); no key needed.

/readyz runs `Service.readiness()` afresh on every call (the store answers, every manifest opens and agrees with
the store, the home takes a write, the models load) and answers 200 with the `checks`, or 503 (507 for a full
disk) with the error contract plus the same machine-readable `checks`. Nothing is cached: a failure clears as soon
as its cause goes away."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qa.http.deps import get_service
from qa.http.errors import error_body
from qa.http.models import Health, Ready, error_responses
from qa.http.security import redact_json

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Alive", response_model=Health)
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Ready: store, manifests, home and models checked (503 with `checks` otherwise)",
            response_model=Ready, responses=error_responses(503, 507))
async def readyz(request: Request, service=Depends(get_service)):
    warm = getattr(request.app.state, "readiness", {"done": True})
    result = await run_in_threadpool(service.readiness, load_models=warm["done"])
    body = redact_json(result.to_dict(), service.config)  # /readyz is public: no keys, no URL credentials
    if result.ready:
        return JSONResponse(body)
    first = result.failing[0]  # the top-level code is the first failing check's; models not (yet) loaded: not_ready
    code = "not_ready" if first == "generator" else result.checks[first].code
    return JSONResponse({**error_body(code, service.config.redact(result.message())), "checks": body["checks"]},
                        status_code=result.status)
