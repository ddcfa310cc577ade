"""groundqa: answers from your own documents, with citations the program has verified.

    import qa
    service = qa.open()                       # home: $GROUNDQA_HOME or ~/.local/share/groundqa
    service.ingest(["seeds/"])
    answer = service.ask("How did the US vote?")
    print(answer.to_dict())

Importing `qa` is cheap: torch, chromadb and llama.cpp load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.answers import Answer, Citation, Passage, SentenceReport
from qa.config import Config
from qa.errors import QAError

if TYPE_CHECKING:
    from qa.service import Service

__all__ = ["Answer", "Citation", "Config", "Passage", "QAError", "SentenceReport", "open"]


def open(home: str | Path | None = None, generator: str | None = None, *, config: Config | None = None,
         chroma_url: str | None = None, **options: Any) -> "Service":
    """Open a groundqa service. Options are Config fields (top_k, embed_model, llm_model, threads, ...);
    `generators={name: obj}` registers extra generators. Unset options come from GROUNDQA_* variables."""
    from qa.service import Service

    extra = {k: options.pop(k) for k in ("embedder", "store", "generators", "retriever", "calibration") if k in options}
    if config is None:
        config = Config.load(home=home, generator=generator, chroma_url=chroma_url, **options)
    else:
        config = config.with_(home=Path(home) if home else None, generator=generator, chroma_url=chroma_url, **options)
    return Service(config, **extra)
