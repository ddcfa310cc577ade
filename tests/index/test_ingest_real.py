"""Ingestion as a user runs it: the `qa` command in new processes, the real embedding model, real
Chroma on disk, and a process killed with SIGKILL in the middle of an ingest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import qa
from tests.conftest import ROOT, run_qa

pytestmark = pytest.mark.integration

TOPICS = ["harbour", "tram", "library", "bridge", "school", "park", "museum", "market", "clinic", "stadium"]


def write_corpus(folder, n):
    """n distinct one-chunk documents."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        (folder / f"note-{i:04d}.txt").write_text(
            f"Report {i} on the {topic}. The {topic} committee met on day {i % 28 + 1} and approved item {i}. "
            f"Its budget of {1000 + i} euros covers repairs, staff and a study of the {topic} for district {i % 17}.\n"
        )


def consistent(home, collection="default") -> int:
    service = qa.open(home=home, generator="extractive")
    service.documents(collection)  # first use repairs whatever a killed process left
    manifest = service.manifests(collection)
    listed = {cid for e in manifest.documents() for cid in e.chunk_ids}
    stored = set(service.store._get(collection).get(include=[])["ids"])
    assert listed == stored, f"{len(stored - listed)} orphan vectors, {len(listed - stored)} missing"
    assert manifest.count_chunks() == len(listed) and not manifest.pending()
    return len(manifest.documents())


def test_sigkill_mid_ingest_leaves_a_consistent_collection_and_the_next_ingest_finishes(tmp_path):
    docs, home = tmp_path / "docs", tmp_path / "home"
    write_corpus(docs, 900)  # several commit batches of 256 chunks
    env = {**os.environ, "GROUNDQA_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "ingest", str(docs), "--json"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    manifest = home / "manifests" / "default.sqlite"
    committed = 0
    deadline = time.monotonic() + 600
    while committed == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if manifest.exists():
            try:
                with sqlite3.connect(manifest, timeout=1) as db:
                    committed = db.execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:
                pass  # the schema is being created
    assert proc.poll() is None, "the ingest finished before it could be killed: " + proc.stderr.read().decode()[-500:]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert 0 < committed < 900

    kept = consistent(home)
    assert 0 < kept < 900  # the batches committed before the kill survive, nothing half-written is left

    out = run_qa("ingest", str(docs), "--json", home=home)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["unchanged"] == kept and summary["added"] == 900 - kept and summary["failed"] == 0
    assert consistent(home) == 900
    answer = run_qa("ask", "What was the budget of report 417?", "--json", "--generator", "extractive", home=home)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["citations"][0]["source"].endswith("note-0417.txt")


def test_ingest_sync_remove_documents_through_the_cli(tmp_path):
    docs, home = tmp_path / "docs", tmp_path / "home"
    write_corpus(docs, 3)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    first = run_qa("ingest", str(docs), "--json", home=home)
    assert first.returncode == 2  # one file could not be read: named, and the others are indexed
    assert "broken.pdf" in first.stderr and "the other 3 are indexed" in first.stderr
    s = json.loads(first.stdout)
    assert {k: s[k] for k in ("added", "updated", "unchanged", "removed", "failed")} == \
        {"added": 3, "updated": 0, "unchanged": 0, "removed": 0, "failed": 1}
    (docs / "broken.pdf").unlink()

    (docs / "note-0000.txt").write_text("Report 0 was withdrawn and replaced by a new plan for the harbour.\n")
    (docs / "note-0001.txt").unlink()
    synced = run_qa("ingest", str(docs), "--sync", "--json", home=home)
    assert synced.returncode == 0, synced.stderr
    s = json.loads(synced.stdout)
    assert (s["added"], s["updated"], s["unchanged"], s["removed"], s["failed"]) == (0, 1, 1, 1, 0)

    removed = run_qa("remove", str(docs / "note-0002.txt"), home=home)
    assert removed.returncode == 0 and "note-0002.txt" in removed.stdout
    listed = run_qa("documents", home=home)
    assert listed.stdout.count("\n") == 1 and "note-0000.txt" in listed.stdout
    missing = run_qa("remove", "no-such-file.txt", home=home)
    assert missing.returncode == 2 and "qa documents" in missing.stderr
    assert consistent(home) == 1
