"""Locks. `ReadWriteLock`, within a process: many readers at once, one writer alone. Writers are preferred (a waiting
writer holds back new readers), so a steady stream of questions cannot starve an ingest's commit.
`ServerLock`, between processes: the one process that serves a home's embedded store, so others send it their writes."""

from __future__ import annotations

import json
import os
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from index.errors import ServerRunning


class ReadWriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


# --- one writer per home: the server's lock file ------------------------------------------------------
SERVER_LOCK = "server.lock"  # in the home: {"pid", "host", "port", "kind", "machine"} of the process serving it


@dataclass(frozen=True)
class ServerInfo:
    """The process that holds a home's embedded store (`qa serve` or `qa ui`), as its lock file says."""

    pid: int
    host: str
    port: int
    kind: str  # "serve" (takes writes over HTTP) | "ui"
    machine: str

    @property
    def url(self) -> str:
        """Where this machine reaches it: a wildcard bind address is reached on loopback."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def describe(self) -> str:
        return f"`qa {self.kind}` (pid {self.pid}, {self.url})"


class ServerLock:
    """`HOME/server.lock`: written by the process that serves a home, removed when it exits. Chroma's embedded
    store is single-process by design, so while the file names a live process every other process sends its
    writes to that one (or refuses). A file whose process is dead is stale and ignored."""

    def __init__(self, home: Path):
        self.path = Path(home) / SERVER_LOCK

    def holder(self) -> ServerInfo | None:
        """The live process holding this home, if any (a stale file is removed)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            info = ServerInfo(int(data["pid"]), str(data["host"]), int(data["port"]), str(data["kind"]),
                              str(data.get("machine", "")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable or half-written: nobody can be reached through it
        if info.machine == socket.gethostname() and not _alive(info.pid):
            self.path.unlink(missing_ok=True)
            return None
        return info

    def acquire(self, host: str, port: int, kind: str) -> ServerInfo:
        """Claim the home for this process; raises ServerRunning if a live process holds it."""
        info = ServerInfo(os.getpid(), host, port, kind, socket.gethostname())
        data = json.dumps({"pid": info.pid, "host": host, "port": port, "kind": kind, "machine": info.machine})
        for _ in range(2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self.holder()  # removes a stale file, then we try again
                if other is not None and other.pid != info.pid:
                    raise ServerRunning(
                        f"{other.describe()} already serves the home {self.path.parent}. Use that server, stop it "
                        "first, or give this one another home (--home or GROUNDQA_HOME).") from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
            return info
        raise ServerRunning(f"Could not claim {self.path}: another process keeps recreating it.")

    def release(self) -> None:
        """Remove the file if this process wrote it."""
        try:
            if json.loads(self.path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
        except (OSError, ValueError):
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
