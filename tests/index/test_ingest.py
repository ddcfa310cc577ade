"""Incremental, crash-safe ingestion through the real Chroma store and the real manifest, with the
hash embedder (the real model's ingest is covered in tests/index/test_ingest_real.py)."""

from __future__ import annotations

import pytest

import qa
from index.chunking import chunk_document
from index.documents import Document
from index.manifest import Change
from qa.errors import EmbeddingModelMismatch, NotFound
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit

ARTICLE = (
    "The council approved the harbour budget on Monday. It allocates 4 million euros to dredging.\n\n"
    "Mayor Lindqvist said the ferry terminal will reopen in May. Critics called the plan too slow.\n"
)
OTHER = "Tram line 7 will run every ten minutes from June. The depot in Vastra was expanded last year.\n"


def open_service(home, embedder=None):
    return qa.open(home=home, generator="extractive", embedder=embedder or HashEmbedder())


def consistent(service, collection="default"):
    """The manifest and Chroma hold exactly the same chunks, and the keyword index all of them."""
    manifest = service.manifests(collection)
    listed = {cid for e in manifest.documents() for cid in e.chunk_ids}
    stored = set(service.store._get(collection).get(include=[])["ids"])
    assert listed == stored
    assert manifest.count_chunks() == len(listed)
    assert not manifest.pending()
    return len(listed)


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "harbour.txt").write_text(ARTICLE)
    (folder / "trams.md").write_text(OTHER)
    return folder


def test_ingesting_twice_embeds_nothing_the_second_time(tmp_path, docs):
    emb = HashEmbedder()
    service = open_service(tmp_path / "home", emb)
    first = service.ingest([docs])
    embedded = emb.texts_embedded
    n = consistent(service)
    second = open_service(tmp_path / "home", emb).ingest([docs])
    assert (first.added, first.unchanged) == (2, 0)
    assert (second.added, second.updated, second.unchanged, second.chunks) == (0, 0, 2, 0)
    assert emb.texts_embedded == embedded  # no embedding work at all
    assert consistent(service) == n


def test_a_changed_file_replaces_its_old_chunks(tmp_path, docs):
    service = open_service(tmp_path / "home")
    service.ingest([docs])
    (docs / "harbour.txt").write_text(ARTICLE.replace("4 million", "9 million"))
    report = service.ingest([docs])
    assert (report.updated, report.unchanged) == (1, 1)
    consistent(service)
    texts = " ".join(c.text for c in service.manifests("default").chunks())
    assert "9 million" in texts and "4 million" not in texts
    hits = service.retriever_for("bm25").retrieve("million euros dredging", "default", 4)
    assert hits and "9 million" in hits[0].text


def test_remove_by_source_path_or_id_clears_every_index(tmp_path, docs):
    service = open_service(tmp_path / "home")
    service.ingest([docs])
    harbour = next(d for d in service.documents() if d.source.endswith("harbour.txt"))
    assert service.remove([harbour.doc_id]) == [harbour.source]
    assert [d.source for d in service.documents()] == [str(docs / "trams.md")]
    assert service.retriever_for("bm25").retrieve("harbour budget dredging", "default", 4) == []
    assert all("harbour" not in p.source for p in service.retriever_for("dense").retrieve("harbour budget", "default", 4))
    consistent(service)
    service.remove([str(docs / "trams.md")])  # a file path works too
    assert service.documents() == [] and consistent(service) == 0
    with pytest.raises(NotFound) as info:
        service.remove(["nothing-like-this"])
    assert "qa documents" in info.value.message


def test_sync_removes_documents_whose_files_are_gone(tmp_path, docs):
    service = open_service(tmp_path / "home")
    service.ingest([docs])
    (docs / "trams.md").unlink()
    plain = service.ingest([docs])
    assert plain.removed == 0 and len(service.documents()) == 2  # without --sync nothing is removed
    synced = service.ingest([docs], sync=True)
    assert (synced.unchanged, synced.removed) == (1, 1)
    assert [d.source for d in service.documents()] == [str(docs / "harbour.txt")]
    consistent(service)


def test_sync_keeps_the_old_version_of_a_file_that_is_now_unreadable(tmp_path, docs):
    service = open_service(tmp_path / "home")
    service.ingest([docs])
    (docs / "trams.md").write_bytes(b"\xff\xfe\x00broken")
    report = service.ingest([docs], sync=True)
    assert (report.failed, report.removed) == (1, 0)
    assert len(service.documents()) == 2


def test_changing_the_embedding_model_is_refused_until_reindexed(tmp_path, docs):
    home = tmp_path / "home"
    open_service(home, HashEmbedder(dim=256)).ingest([docs])
    other = open_service(home, HashEmbedder(dim=128))
    with pytest.raises(EmbeddingModelMismatch) as info:
        other.ingest([docs])
    assert "qa reindex --collection default" in info.value.message
    report = other.reindex()
    assert report.updated == 2 and report.chunks == consistent(other)
    assert other.store.fingerprint("default") == "hash-128"
    assert other.manifests("default").fingerprint == "hash-128"
    assert other.ingest([docs]).unchanged == 2
    top = other.retriever_for("dense").retrieve("council harbour budget dredging euros", "default", 1)
    assert "4 million" in top[0].text


@pytest.mark.parametrize("crash_after", ["journal", "vectors", "manifest", "cleanup"])
def test_a_crash_at_any_step_is_repaired_on_the_next_start(tmp_path, docs, crash_after):
    """Replay the write protocol by hand and stop after each step, as a killed process would."""
    home = tmp_path / "home"
    service = open_service(home)
    service.ingest([docs / "harbour.txt"])
    before = consistent(service)
    old = service.manifests("default").document(str(docs / "harbour.txt"))
    (docs / "harbour.txt").write_text(ARTICLE.replace("Monday", "Tuesday"))  # the file changes, its ingest is killed
    changed = Document(text=ARTICLE.replace("Monday", "Tuesday"), source=old.source)
    chunks = chunk_document(changed)
    vectors = service.embedder.embed([c.text for c in chunks])
    change = Change(source=old.source, doc_id=changed.id, chunks=tuple(chunks), old_ids=old.chunk_ids)
    manifest = service.manifests("default")
    steps = [
        lambda: manifest.begin([change]),
        lambda: service.store.upsert("default", service.embedder.fingerprint, chunks, vectors),
        lambda: manifest.apply([change], service.embedder.fingerprint),
        lambda: service.store.delete_chunks("default", change.stale_ids),
    ]
    for step in steps[: ["journal", "vectors", "manifest", "cleanup"].index(crash_after) + 1]:
        step()
    # Before any repair, questions see only what the manifest lists.
    visible = {p.chunk_id for p in open_service(home).retriever_for("dense").retrieve("council budget", "default", 10)}
    assert visible <= set(service.manifests("default").known(visible))
    restarted = open_service(home)
    restarted.documents()  # first use of the collection repairs it
    n = consistent(restarted)
    text = " ".join(c.text for c in restarted.manifests("default").chunks())
    assert ("Tuesday" in text) == (crash_after in ("manifest", "cleanup")) and n == before
    finished = restarted.ingest([docs / "harbour.txt"])  # the next ingest finishes the job
    assert finished.updated == (0 if crash_after in ("manifest", "cleanup") else 1)
    assert "Tuesday" in " ".join(c.text for c in restarted.manifests("default").chunks())
    consistent(restarted)


def test_a_collection_made_before_manifests_is_adopted(tmp_path, docs):
    home = tmp_path / "home"
    service = open_service(home)
    service.ingest([docs])
    n = consistent(service)
    for f in (home / "manifests").glob("default.sqlite*"):
        f.unlink()
    again = open_service(home)
    assert len(again.documents()) == 2 and consistent(again) == n
    assert again.ingest([docs]).unchanged == 2


def test_uploaded_documents_go_through_the_same_path(tmp_path):
    service = open_service(tmp_path / "home")
    doc = Document(text=OTHER, source="uploads/trams.md")
    assert service.indexer.ingest_documents([doc], "default").added == 1
    assert service.indexer.ingest_documents([doc], "default").unchanged == 1
    consistent(service)
