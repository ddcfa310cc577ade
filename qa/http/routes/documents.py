"""/v1/documents: upload, list and delete the documents of a collection."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from qa.errors import NotFound, UploadTooLarge
from qa.http.deps import get_service, require_key
from qa.http.models import V1_ERRORS, CollectionName, Deleted, DocumentList, UploadReport, error_responses
from qa.uploads import UPLOAD_TYPES, remove_upload

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], tags=["documents"], responses=V1_ERRORS)

DOC_ID = re.compile(r"^[0-9a-f]{16}$")


@router.post("/documents", status_code=201, response_model=UploadReport, response_model_exclude_unset=True,
             responses=error_responses(413, 415),
             summary="Upload documents (.txt, .md, .pdf, .docx, .html) into a collection")
async def upload(files: list[UploadFile] = File(..., description=f"One or more {', '.join(UPLOAD_TYPES)} files"),
                 collection: CollectionName | None = Form(None), service=Depends(get_service)):
    config = service.config
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
    # saved and indexed as one step: files that are not indexed (full disk, read-only home) are removed again
    report, saved = await run_in_threadpool(service.add_uploads, received, name)
    result = report.to_dict()
    result["documents"] = [{"id": doc.id, "name": path.name, "source": str(path), "title": doc.title}
                           for path, doc in saved]
    return result


@router.get("/documents", summary="List the documents of a collection", response_model=DocumentList,
            response_model_exclude_unset=True)
async def documents(collection: CollectionName | None = Query(None), service=Depends(get_service)):
    docs = await run_in_threadpool(service.documents, collection)
    return {"collection": collection or service.config.collection,
            "documents": [{"id": d.doc_id, "source": d.source, "title": d.title, "chunks": d.chunks} for d in docs]}


@router.delete("/documents/{doc_id}", summary="Delete a document (all its chunks) by id", response_model=Deleted,
               response_model_exclude_unset=True)
async def delete_document(doc_id: str, collection: CollectionName | None = Query(None),
                          service=Depends(get_service)):
    if not DOC_ID.match(doc_id):
        raise NotFound(f"No document {doc_id!r}: document ids are 16 hex characters, as GET /v1/documents lists them.")
    config = service.config
    name = collection or config.collection
    sources = await run_in_threadpool(service.delete_document, doc_id, name)
    removed = [s for s in sources if await run_in_threadpool(remove_upload, config, name, s, doc_id)]
    return {"deleted": doc_id, "collection": name, "sources": sources, "files_removed": removed}
