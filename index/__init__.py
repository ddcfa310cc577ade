"""groundqa's indexing layer: load documents, chunk them, embed them, store them.

Importing this package is cheap: torch and chromadb load only when a model or a
store is first used.
"""

from index.documents import Chunk, Document
from index.errors import QAError

__all__ = ["Chunk", "Document", "QAError"]
