"""GET /v1/collections."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from qa.http.deps import get_service, require_key
from qa.http.models import V1_ERRORS, CollectionList

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["collections"], responses=V1_ERRORS)


@router.get("/collections", summary="List the collections", response_model=CollectionList,
            response_model_exclude_unset=True)
async def collections(service=Depends(get_service)):
    def listing():
        return [{"name": n, "chunks": size} for n, size in service.collection_sizes().items()]

    return {"collections": await run_in_threadpool(listing)}
