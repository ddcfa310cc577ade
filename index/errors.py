"""The project's error tree. Every error carries an HTTP status and a stable code, and its message
says how to fix the problem. The errors the index layer raises are defined here; qa/errors.py adds
the question, generator and HTTP ones (subclasses of these) and re-exports the lot. Edges (CLI, HTTP,
UI) map these once; nothing else catches them to turn them into strings."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error groundqa raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInput(QAError):
    status = 400
    code = "invalid_input"


class InvalidCollectionName(InvalidInput):
    code = "invalid_collection_name"


class DocumentError(InvalidInput):
    """A file given to ingest cannot be read as a document."""

    status = 422
    code = "unreadable_document"


class UnsupportedFileType(DocumentError):
    status = 415
    code = "unsupported_file_type"


class NotFound(QAError):
    status = 404
    code = "not_found"


class PathNotFound(NotFound):
    code = "path_not_found"


class CollectionNotFound(NotFound):
    code = "collection_not_found"


class EmbeddingModelMismatch(QAError):
    status = 409
    code = "embedding_model_mismatch"


class ConfigError(QAError):
    """A bad option or GROUNDQA_* value: the caller's to fix."""

    status = 400
    code = "config_error"


class ModelUnavailable(QAError):
    status = 503
    code = "model_unavailable"


class StoreUnavailable(QAError):
    status = 503
    code = "store_unavailable"


class HomeNotWritable(QAError):
    """groundqa's home (index, manifests, uploads) cannot be written: read-only file system or permissions."""

    status = 503
    code = "home_not_writable"


class InsufficientStorage(QAError):
    """The disk holding the home is full (ENOSPC): the write was undone."""

    status = 507
    code = "insufficient_storage"


class ManifestCorrupt(QAError):
    """A collection's manifest (SQLite) cannot be read; `qa repair` rebuilds it from the store."""

    status = 503
    code = "manifest_corrupt"


class ServerRunning(QAError):
    """Another process (`qa serve`, `qa ui`) owns this home's embedded store and cannot take the write."""

    status = 409
    code = "server_running"


def storage_error(exc: BaseException, where: object) -> QAError | None:
    """The error tree's name for a failed write under `where` (a folder or file): a full disk
    (InsufficientStorage) or a read-only/permission-denied home (HomeNotWritable); None for anything else.
    Understands OSError and the messages SQLite (and Chroma, which uses it) gives for the same faults."""
    import errno

    no = getattr(exc, "errno", None)
    text = str(exc).lower()
    if no in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text or "no space left" in text:
        return InsufficientStorage(
            f"The disk holding {where} is full; nothing was written. Free some space (or move GROUNDQA_HOME "
            "to a bigger disk) and try again.")
    if no in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in text or "read-only" in text \
            or "permission denied" in text:
        return HomeNotWritable(
            f"Cannot write to {where}: the file system is read-only or permission is denied. Make the folder "
            "writable, or point GROUNDQA_HOME (--home) at a writable folder.")
    return None


class IndexMismatch(QAError):
    """A collection's manifest and its store disagree (found by readiness); `qa repair` makes them agree."""

    status = 503
    code = "index_mismatch"
