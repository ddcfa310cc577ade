"""Faults, on loopback and bounded (issue 14): one writer per embedded store, readiness that tells the truth,
faults as clear errors and recovery without a restart.

- a `qa ingest` of 200 files while a real `qa serve` answers 200 questions: the CLI sends the write to the
  server, and no question fails;
- a damaged manifest: /readyz 503 `manifest_corrupt`, questions 503, `qa repair`, ready again;
- a read-only home (a tmpfs remounted read-only as root, chmod otherwise): 503 `home_not_writable`, no file left;
- a full disk (a small tmpfs filled up; a unit test simulates ENOSPC where mounting is not allowed): 507
  `insufficient_storage`, the upload removed, nothing half-indexed, ready again once space is freed;
- a Chroma server killed and restarted: 503 `store_unavailable`, then answers again without a restart.
"""

from __future__ import annotations

import concurrent.futures
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import qa
from tests.conftest import ROOT, SEED_FILE, SEEDS, run_qa

QUESTION = "How did the US vote?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 180, status: int | None = 200) -> httpx.Response:
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = httpx.get(url, timeout=5)
            if status is None or last.status_code == status:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer {status} in {timeout} s (last: {last and last.text})")


def start_server(home: Path, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "GROUNDQA_HOME": str(home), "GROUNDQA_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--no-ui", "--port", str(port),
                             "--generator", "extractive", *extra], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def one_line_error(out: subprocess.CompletedProcess, words: str) -> None:
    assert out.returncode == 1, (out.stdout, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and words in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def mount_tmpfs(where: Path, size: str) -> None:
    """Mount a tmpfs (root with CAP_SYS_ADMIN only); skips the test with the reason otherwise."""
    where.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                         text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (uid {os.getuid()}): {out.stderr.strip() or out.returncode}")


def umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture(scope="module")
def embedder():
    """The real embedding model, loaded once for the in-process tests."""
    from index.embeddings import SentenceTransformerEmbedder

    e = SentenceTransformerEmbedder(None, threads=1)
    e.embed(["warm up"])
    return e


def client_for(service):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    return TestClient(create_app(service, ui=False, warm_up=False), raise_server_exceptions=False)


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


# --- one writer per embedded store ------------------------------------------------------------------------
@pytest.mark.integration
def test_cli_ingest_goes_through_the_running_server_while_it_answers(tmp_path):
    home, port = tmp_path / "home", free_port()
    server = start_server(home, port, "--seed", str(SEEDS))
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz")
        lock = json.loads((home / "server.lock").read_text())
        assert lock["pid"] == server.pid and lock["port"] == port

        docs = tmp_path / "many"
        docs.mkdir()
        for i in range(200):
            (docs / f"note-{i:03d}.txt").write_text(f"Note {i}: the harbour crane number {i} lifts {i * 7} tonnes.\n")

        def ask(_: int) -> int:
            r = httpx.post(f"http://127.0.0.1:{port}/v1/ask", json={"question": QUESTION}, timeout=60)
            return r.status_code

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            asks = [pool.submit(ask, i) for i in range(200)]
            cli = run_qa("ingest", str(docs), "--json", home=home, timeout=300)
            statuses = [a.result() for a in asks]
        assert cli.returncode == 0, cli.stderr
        assert "sending the request to it" in cli.stderr  # the write went through the server
        assert json.loads(cli.stdout)["added"] == 200
        assert statuses.count(200) == 200, {s: statuses.count(s) for s in set(statuses)}
        # Questions keep working after the write, and see it.
        r = httpx.post(f"http://127.0.0.1:{port}/v1/ask", json={"question": "What does harbour crane number 17 lift?"},
                       timeout=60)
        assert r.status_code == 200 and "119" in r.json()["answer"], r.text
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200

        # A second server on the same home is refused before it touches the store.
        second = run_qa("serve", "--no-ui", "--port", str(free_port()), home=home, timeout=120)
        assert second.returncode == 2 and f"pid {server.pid}" in second.stderr and "Traceback" not in second.stderr
    finally:
        stop(server)
    assert not (home / "server.lock").exists()  # removed at exit


@pytest.mark.unit
def test_a_stale_server_lock_is_ignored_and_replaced(tmp_path):
    from index.locks import ServerLock

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "server.lock").write_text(json.dumps({"pid": dead.pid, "host": "127.0.0.1", "port": 1, "kind": "serve",
                                                      "machine": socket.gethostname()}))
    lock = ServerLock(tmp_path)
    assert lock.holder() is None and not lock.path.exists()
    info = lock.acquire("0.0.0.0", 8123, "serve")
    assert lock.holder() == info and info.url == "http://127.0.0.1:8123"
    lock.release()
    assert not lock.path.exists()


# --- a damaged manifest --------------------------------------------------------------------------------------
@pytest.mark.integration
def test_corrupt_manifest_is_503_until_qa_repair(tmp_path, embedder):
    home = tmp_path / "home"
    s = qa.open(home=home, generator="extractive", embedder=embedder)
    s.ingest([SEEDS])
    manifest = home / "manifests" / "default.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{manifest}{extra}").unlink(missing_ok=True)
    manifest.write_bytes(b"this is not a database " * 200)

    fresh = qa.open(home=home, generator="extractive", embedder=embedder)  # a server started on the damaged home
    with client_for(fresh) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and error_code(r) == "manifest_corrupt", r.text
        check = r.json()["checks"]["manifest"]
        assert check["ok"] is False and "qa repair" in check["message"]
        assert r.json()["checks"]["store"]["ok"] is True
        r = c.post("/v1/ask", json={"question": QUESTION})
        assert r.status_code == 503 and error_code(r) == "manifest_corrupt" and "qa repair" in r.json()["error"]["message"]

        out = run_qa("repair", "--json", home=home, timeout=300)  # another process, as an operator runs it
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["action"] == "manifest_rebuilt"

        r = c.get("/readyz")  # recovered without a restart
        assert r.status_code == 200, r.text
        r = c.post("/v1/ask", json={"question": QUESTION})
        assert r.status_code == 200 and "against" in r.json()["answer"]
        assert [Path(d["source"]).name for d in c.get("/v1/documents").json()["documents"]] == [SEED_FILE.name]
    assert list((home / "manifests").glob("default.sqlite.broken-*"))  # the damaged file is kept for a post-mortem


@pytest.mark.integration
def test_repair_rebuilds_a_lost_store_from_the_manifest(tmp_path, embedder):
    from index.store import chroma_client

    s = qa.open(home=tmp_path / "home", generator="extractive", embedder=embedder)
    s.ingest([SEEDS])
    assert s.repair().action == "none"
    # The vectors are lost (the manifest keeps every chunk's text).
    chroma_client(path=tmp_path / "home" / "chroma").delete_collection("default")
    r = s.readiness()
    assert not r.ready and r.checks["manifest"].code == "index_mismatch" and "qa repair" in r.checks["manifest"].message
    report = s.repair()
    assert report.action == "store_rebuilt" and report.chunks > 0
    assert s.readiness().ready and "against" in s.ask(QUESTION).answer


# --- a read-only home ---------------------------------------------------------------------------------------
@pytest.mark.integration
def test_read_only_home_is_503_home_not_writable(tmp_path, embedder):
    home = tmp_path / "home"
    root = os.getuid() == 0
    if root:
        mount_tmpfs(home, "64m")
    try:
        out = run_qa("ingest", str(SEEDS), home=home, timeout=300)  # another process: this one holds no file open
        assert out.returncode == 0, out.stderr
        if root:
            out = subprocess.run(["mount", "-o", "remount,ro", str(home)], capture_output=True, text=True)
            assert out.returncode == 0, f"mounted the tmpfs but cannot remount it read-only: {out.stderr.strip()}"
        else:
            for p in [home, *home.rglob("*")]:
                p.chmod(p.stat().st_mode & ~0o222)
        s = qa.open(home=home, generator="extractive", embedder=embedder)
        with client_for(s) as c:
            r = c.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"]["home"]["code"] == "home_not_writable", r.text
            r = c.post("/v1/documents", files=[("files", ("new.txt", b"A new note about harbours.", "text/plain"))])
            assert r.status_code == 503 and error_code(r) == "home_not_writable", r.text
            assert "GROUNDQA_HOME" in r.json()["error"]["message"]
        assert not (home / "uploads").exists()
        note = tmp_path / "note.txt"
        note.write_text("A note about harbours and cranes.")
        one_line_error(run_qa("ingest", str(note), home=home, timeout=300), "writable")
    finally:
        if root:
            umount(home)


# --- a full disk -------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_full_disk_is_507_and_nothing_is_left_half_done(tmp_path, embedder):
    home = tmp_path / "home"
    mount_tmpfs(home, "48m")
    try:
        s = qa.open(home=home, generator="extractive", embedder=embedder)
        s.ingest([SEEDS])
        with client_for(s) as c:
            before = c.get("/v1/documents").json()["documents"]
            filler = home / "filler"
            with open(filler, "wb", buffering=0) as f:  # fill the disk to the last block
                try:
                    while True:
                        f.write(b"\0" * 1024 * 1024)
                        f.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                try:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
                except OSError:
                    pass
            r = c.post("/v1/documents", files=[("files", ("big.txt", b"Harbour cranes lift containers. " * 3000,
                                                          "text/plain"))])
            assert r.status_code == 507 and error_code(r) == "insufficient_storage", r.text
            assert not list((home / "uploads").rglob("big.txt"))  # the upload was removed again
            assert c.get("/v1/documents").json()["documents"] == before  # nothing half-indexed
            r = c.get("/readyz")
            assert r.status_code == 507 and r.json()["checks"]["home"]["code"] == "insufficient_storage", r.text

            filler.unlink()  # space again: ready again, without a restart
            assert c.get("/readyz").status_code == 200
            r = c.post("/v1/documents", files=[("files", ("big.txt", b"Harbour cranes lift containers. " * 3000,
                                                          "text/plain"))])
            assert r.status_code == 201, r.text
    finally:
        umount(home)


@pytest.mark.unit
def test_enospc_while_saving_an_upload_leaves_no_file(tmp_path, monkeypatch):
    from qa.config import Config
    from qa.errors import InsufficientStorage
    from qa.uploads import ingest_uploads

    config = Config(home=tmp_path / "home")
    real_fsync = os.fsync
    calls = {"n": 0}

    def full(fd):
        calls["n"] += 1
        if calls["n"] == 2:  # the second file does not fit
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    ingested = []
    with pytest.raises(InsufficientStorage) as err:
        ingest_uploads(config, "default", [("a.txt", b"First note."), ("b.txt", b"Second note.")],
                       lambda paths, name: ingested.append(paths))
    assert "full" in err.value.message and err.value.status == 507
    assert ingested == [] and list((tmp_path / "home" / "uploads" / "default").iterdir()) == []


@pytest.mark.unit
def test_a_failed_ingest_takes_the_upload_back_and_restores_the_old_file(tmp_path):
    from qa.config import Config
    from qa.errors import InsufficientStorage
    from qa.uploads import ingest_uploads

    config = Config(home=tmp_path / "home")
    folder = tmp_path / "home" / "uploads" / "default"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("The old version.")

    def fails(paths, name):
        assert (folder / "a.txt").read_text() == "The new version."
        raise InsufficientStorage("The disk is full; nothing was written.")

    with pytest.raises(InsufficientStorage):
        ingest_uploads(config, "default", [("a.txt", b"The new version."), ("b.txt", b"Another.")], fails)
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"] and (folder / "a.txt").read_text() == "The old version."


@pytest.mark.unit
@pytest.mark.parametrize("exc,code", [
    (OSError(errno.ENOSPC, "No space left on device"), "insufficient_storage"),
    (OSError(errno.EROFS, "Read-only file system"), "home_not_writable"),
    (PermissionError(errno.EACCES, "Permission denied"), "home_not_writable"),
    (Exception("attempt to write a readonly database"), "home_not_writable"),
    (Exception("database or disk is full"), "insufficient_storage"),
])
def test_storage_faults_have_names(exc, code):
    from qa.errors import storage_error

    err = storage_error(exc, "/some/home")
    assert err is not None and err.code == code and "/some/home" in err.message
    assert storage_error(ValueError("something else"), "/x") is None


# --- the Chroma server goes away and comes back --------------------------------------------------------------
def start_chroma(path: Path, port: int) -> subprocess.Popen:
    chroma = Path(sys.executable).with_name("chroma")
    assert chroma.exists(), f"no chroma command next to {sys.executable}: chromadb installs it (make install)"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=60)
    return proc


@pytest.mark.integration
def test_chroma_server_killed_then_restarted(tmp_path, embedder):
    port = free_port()
    chroma = start_chroma(tmp_path / "chroma-db", port)
    try:
        s = qa.open(home=tmp_path / "home", chroma_url=f"http://127.0.0.1:{port}", generator="extractive",
                    embedder=embedder)
        s.ingest([SEEDS])
        with client_for(s) as c:
            assert c.post("/v1/ask", json={"question": QUESTION}).status_code == 200
            assert c.get("/readyz").status_code == 200
            stop(chroma, signal.SIGKILL)
            r = c.post("/v1/ask", json={"question": QUESTION})
            assert r.status_code == 503 and error_code(r) == "store_unavailable", r.text
            r = c.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"]["store"]["code"] == "store_unavailable", r.text
            chroma = start_chroma(tmp_path / "chroma-db", port)
            r = c.post("/v1/ask", json={"question": QUESTION})  # same process, no restart
            assert r.status_code == 200 and "against" in r.json()["answer"], r.text
            assert c.get("/readyz").status_code == 200
    finally:
        stop(chroma, signal.SIGKILL)


# --- the write routes the CLI uses --------------------------------------------------------------------------
@pytest.mark.unit
def test_write_routes_answer_loopback_only_and_take_paths(fake_service, seed_copy):
    from fastapi.testclient import TestClient

    from qa.http import create_app

    app = create_app(fake_service, ui=False, warm_up=False)
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 40000)) as remote:
        r = remote.post("/v1/ingest", json={"paths": [str(seed_copy)]})
        assert r.status_code == 403 and error_code(r) == "forbidden" and "/v1/documents" in r.json()["error"]["message"]
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 40000)) as local:
        r = local.post("/v1/ingest", json={"paths": [str(seed_copy)], "sync": True})
        assert r.status_code == 200 and r.json()["added"] == 1, r.text
        assert local.post("/v1/ingest", json={"paths": "not a list"}).status_code == 422
        r = local.post("/v1/ingest", json={"paths": [str(seed_copy / "missing.txt")]})
        assert r.status_code == 404 and error_code(r) == "path_not_found"
        r = local.post("/v1/repair", json={})
        assert r.status_code == 200 and r.json()["action"] == "none", r.text
        r = local.post("/v1/remove", json={"targets": [str(seed_copy / SEED_FILE.name)]})
        assert r.status_code == 200 and r.json()["removed"] == 1, r.text
        assert local.post("/v1/repair", json={"collection": "nothere"}).status_code == 404
