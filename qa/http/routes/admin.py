"""Writes that the `qa` command sends to a running server (one writer per embedded store: index/locks.py).

    POST /v1/ingest   {"paths": [...], "collection": null, "sync": false}   -> the ingest report
    POST /v1/remove   {"targets": [...], "collection": null}                -> {"removed", "sources"}
    POST /v1/reindex  {"collection": null}                                  -> the ingest report
    POST /v1/repair   {"collection": null}                                  -> the repair report

Paths are files on the server's machine, so these routes answer only clients on loopback (and, when
GROUNDQA_API_KEY is set, only with the key, like every /v1 route)."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from qa.errors import Forbidden
from qa.http.deps import get_service, require_key
from qa.http.models import V1_ERRORS

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["admin"], responses=V1_ERRORS)


def require_loopback(request: Request) -> None:
    """Only this machine may name its files."""
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise Forbidden("This route takes paths on the server's machine and answers only loopback clients: "
                        "run the `qa` command on the server itself, or upload files with POST /v1/documents.")


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    paths: list[str] = Field(min_length=1, description="Files or folders on the server's machine.")
    collection: str | None = None
    sync: bool = False


class RemoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    targets: list[str] = Field(min_length=1, description="Sources, file paths or document ids.")
    collection: str | None = None


class CollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    collection: str | None = None


@router.post("/ingest", summary="Index files or folders on the server's machine (loopback only)",
             dependencies=[Depends(require_loopback)])
async def ingest(body: IngestRequest, service=Depends(get_service)) -> dict:
    report = await run_in_threadpool(lambda: service.ingest(body.paths, body.collection, sync=body.sync))
    return report.to_dict()


@router.post("/remove", summary="Remove documents by source, path or id (loopback only)",
             dependencies=[Depends(require_loopback)])
async def remove(body: RemoveRequest, service=Depends(get_service)) -> dict:
    removed = await run_in_threadpool(service.remove, body.targets, body.collection)
    return {"removed": len(removed), "sources": removed}


@router.post("/reindex", summary="Re-embed a collection with the configured model (loopback only)",
             dependencies=[Depends(require_loopback)])
async def reindex(body: CollectionRequest, service=Depends(get_service)) -> dict:
    report = await run_in_threadpool(service.reindex, body.collection)
    return report.to_dict()


@router.post("/repair", summary="Make a collection's manifest and store agree again (loopback only)",
             dependencies=[Depends(require_loopback)])
async def repair(body: CollectionRequest, service=Depends(get_service)) -> dict:
    report = await run_in_threadpool(service.repair, body.collection)
    return report.to_dict()
