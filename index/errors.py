"""The project's error tree. Every error carries an HTTP status and a stable code,
and its message says how to fix the problem. Edges (CLI, HTTP, UI) map these
once; nothing else catches them to turn them into strings."""

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


class EmptyQuestion(InvalidInput):
    code = "empty_question"


class QuestionTooLong(InvalidInput):
    status = 413
    code = "question_too_long"


class InvalidCollectionName(InvalidInput):
    code = "invalid_collection_name"


class DocumentError(InvalidInput):
    """A file given to ingest cannot be read as a document."""

    status = 422
    code = "unreadable_document"


class UnsupportedFileType(DocumentError):
    status = 415
    code = "unsupported_file_type"


class UploadTooLarge(InvalidInput):
    status = 413
    code = "upload_too_large"


class Unauthorized(QAError):
    status = 401
    code = "unauthorized"


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


class GeneratorError(QAError):
    status = 502
    code = "generator_error"
