"""Readiness: whether this process can answer and ingest right now, checked afresh every time (a cause that goes
away clears its failure; nothing is cached). `Service.readiness()` runs the checks; GET /readyz reports them.

Checks, each {ok, code, message}:
- `store`: the vector store answers (a Chroma server is reachable, the embedded folder opens);
- `manifest`: every collection's manifest opens and lists as many chunks as the store holds
  (while an ingest is writing, a difference is expected and not a failure);
- `home`: the home folder takes a small write (not read-only, not full);
- `generator`: the embedding model and the configured generator load (and an OpenAI-compatible server answers).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.errors import HomeNotWritable, IndexMismatch, QAError, storage_error

CHECKS = ("store", "manifest", "home", "generator")


@dataclass(frozen=True)
class Check:
    ok: bool
    code: str = "ok"  # the error code of the failure (the error tree's), "ok" when it passes
    message: str = ""

    def to_dict(self) -> dict:
        return {"ok": self.ok, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, Check] = field(default_factory=dict)
    generator: str = ""
    store: str = ""

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, c in self.checks.items() if not c.ok]

    @property
    def status(self) -> int:
        """The HTTP status that says it: 200 ready, else the first failing check's (507 for a full disk, else 503)."""
        if self.ready:
            return 200
        return 507 if any(self.checks[n].code == "insufficient_storage" for n in self.failing) else 503

    def message(self) -> str:
        """The failing check's message; with several, each prefixed by its check's name."""
        failing = self.failing
        if len(failing) == 1:
            return self.checks[failing[0]].message
        return " ".join(f"{name}: {self.checks[name].message}" for name in failing) or "Ready."

    def to_dict(self) -> dict:
        return {"status": "ready" if self.ready else "not_ready", "generator": self.generator, "store": self.store,
                "checks": {name: c.to_dict() for name, c in self.checks.items()}}


def run_check(check: Callable[[], str], fallback: type[QAError]) -> Check:
    """Run one check: the message it returns on success, or the failure as the error tree names it."""
    try:
        return Check(True, "ok", check() or "")
    except QAError as exc:
        return Check(False, exc.code, exc.message)
    except Exception as exc:  # a check must report, never raise
        return Check(False, fallback.code, f"{type(exc).__name__}: {exc}")


def probe_home(home: Path) -> str:
    """Write, read back and delete a small file in the home; raises HomeNotWritable or InsufficientStorage."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=home, prefix=".ready-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(b"ready\n" * 512)  # 3 KB: a full disk refuses it
                out.flush()
                os.fsync(out.fileno())
        finally:
            Path(name).unlink(missing_ok=True)
    except OSError as exc:
        raise storage_error(exc, home) or HomeNotWritable(
            f"Cannot write to {home}: {exc}. Make it writable or point GROUNDQA_HOME at a writable folder.") from exc
    return f"{home} is writable"


def agreement(name: str, manifest, store) -> str:
    """Whether a collection's manifest and store agree on how many chunks it holds."""
    in_store = store.has_collection(name)
    if not manifest.exists():
        return f"'{name}': no manifest yet (built on first use)"
    before = manifest.count_chunks()
    busy = bool(manifest.pending())
    stored = store.count(name) if in_store else 0
    after = manifest.count_chunks()
    if busy or manifest.pending() or before != after:
        return f"'{name}': an ingest is writing"
    if stored != after:
        where = "the store holds" if in_store else "the store has no such collection, so"
        raise IndexMismatch(
            f"Collection '{name}': the manifest lists {after} chunks but {where} {stored}. "
            f"Run `qa repair --collection {name}` to make them agree.")
    return f"'{name}': {after} chunks"


