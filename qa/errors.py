"""The error tree: the index layer's errors (index/errors.py, re-exported here) and the ones the qa layer
raises (questions, generators, HTTP), defined here as subclasses of the same QAError."""

from index.errors import (  # noqa: F401  (re-exported for users of the qa API)
    CollectionNotFound,
    ConfigError,
    DocumentError,
    EmbeddingModelMismatch,
    HomeNotWritable,
    IndexMismatch,
    InsufficientStorage,
    InvalidCollectionName,
    InvalidInput,
    ManifestCorrupt,
    ModelUnavailable,
    NotFound,
    PathNotFound,
    QAError,
    ServerRunning,
    StoreUnavailable,
    UnsupportedFileType,
    storage_error,
)


class EmptyQuestion(InvalidInput):
    code = "empty_question"


class QuestionTooLong(InvalidInput):
    status = 413
    code = "question_too_long"


class UploadTooLarge(InvalidInput):
    status = 413
    code = "upload_too_large"


class Unauthorized(QAError):
    status = 401
    code = "unauthorized"


class GeneratorError(QAError):
    status = 502
    code = "generator_error"


class InvalidUnicode(InvalidInput):
    """Text that is not valid Unicode (a lone surrogate such as \\ud800, undecodable bytes)."""

    code = "invalid_unicode"


class TooManyRequests(QAError):
    """Too many failed authentications from one client; `retry_after` seconds until it may try again."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(QAError):
    """A route this client may not use (e.g. the server-side write routes from off the machine)."""

    status = 403
    code = "forbidden"
