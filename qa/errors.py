"""The error tree, shared with the index layer (which defines it, as the lower layer)."""

from index.errors import (  # noqa: F401  (re-exported for users of the qa API)
    CollectionNotFound,
    ConfigError,
    DocumentError,
    EmbeddingModelMismatch,
    EmptyQuestion,
    GeneratorError,
    InvalidCollectionName,
    InvalidInput,
    ModelUnavailable,
    NotFound,
    PathNotFound,
    QAError,
    QuestionTooLong,
    StoreUnavailable,
    Unauthorized,
    UnsupportedFileType,
    UploadTooLarge,
)
