"""What every Store must do, as a mixin of tests (the Haystack DocumentStore test pattern): a test module
subclasses `StoreContract` and provides a `store` fixture returning a fresh, empty store. The same
tests then run on ChromaStore and InMemoryStore (tests/index/test_store_contract.py)."""

from __future__ import annotations

import threading

import pytest

from index.documents import Chunk
from index.errors import CollectionNotFound, EmbeddingModelMismatch, InvalidCollectionName
from index.store import Hit, Store

FP = "model-a"


def chunk(text: str, doc: str = "d1", start: int = 0, **extra) -> Chunk:
    return Chunk(doc_id=doc, source=f"{doc}.txt", text=text, start=start, end=start + len(text), title=doc.upper(),
                 **extra)


def unit(*xs: float) -> list[float]:
    n = sum(x * x for x in xs) ** 0.5
    return [x / n for x in xs]


A, B, C = chunk("alpha text", start=0), chunk("beta text", start=20), chunk("gamma text", doc="d2")
VA, VB, VC = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0.6, 0.8)


class StoreContract:
    """Subclass and provide a `store` fixture (empty store)."""

    @pytest.fixture
    def filled(self, store) -> Store:
        store.upsert("notes", FP, [A, B, C], [VA, VB, VC])
        return store

    # --- collections ------------------------------------------------------------------------------
    def test_a_new_store_has_no_collections(self, store):
        assert store.collections() == []
        assert not store.has_collection("notes")

    def test_upsert_creates_the_collection_with_its_fingerprint(self, filled):
        assert filled.collections() == ["notes"]
        assert filled.has_collection("notes")
        assert filled.count("notes") == 3
        assert filled.fingerprint("notes") == FP

    def test_upserting_nothing_creates_nothing(self, store):
        store.upsert("notes", FP, [], [])
        assert store.collections() == []

    def test_collections_are_listed_sorted(self, store):
        for name in ("zeta", "alpha", "mid-1"):
            store.upsert(name, FP, [A], [VA])
        assert store.collections() == ["alpha", "mid-1", "zeta"]

    def test_a_missing_collection_is_named_with_the_fix(self, filled):
        for read in (filled.count, filled.fingerprint, filled.all_chunks, lambda n: filled.query(n, VA, 2)):
            with pytest.raises(CollectionNotFound) as info:
                read("missing")
            assert "qa ingest" in info.value.message and "notes" in info.value.message

    def test_invalid_names_are_refused(self, store):
        with pytest.raises(InvalidCollectionName):
            store.upsert("a", FP, [A], [VA])
        with pytest.raises(InvalidCollectionName):
            store.count("../etc")

    def test_another_models_vectors_are_refused(self, filled):
        with pytest.raises(EmbeddingModelMismatch) as info:
            filled.upsert("notes", "model-b", [chunk("delta")], [VA])
        assert "qa reindex" in info.value.message
        assert filled.count("notes") == 3

    # --- chunks -----------------------------------------------------------------------------------
    def test_upsert_is_idempotent_by_chunk_id(self, filled):
        filled.upsert("notes", FP, [A], [VA])
        assert filled.count("notes") == 3

    def test_chunks_come_back_whole(self, store):
        rich = chunk("page text", doc="d9", start=5, page=3, section="Intro › Setup", units=((0, 4, "prose"),))
        plain = chunk("plain")
        store.upsert("notes", FP, [rich, plain], [VA, VB])
        assert sorted(store.all_chunks("notes"), key=lambda c: c.id) == sorted([rich, plain], key=lambda c: c.id)

    def test_delete_chunks_removes_only_those(self, filled):
        filled.delete_chunks("notes", [A.id, "no-such-id"])
        assert {c.id for c in filled.all_chunks("notes")} == {B.id, C.id}
        filled.delete_chunks("notes", [])
        assert filled.count("notes") == 2

    def test_vectors_of_known_ids_only(self, filled):
        got = filled.vectors("notes", [B.id, "no-such-id"])
        assert list(got) == [B.id]
        assert got[B.id] == pytest.approx(VB, abs=1e-6)
        assert filled.vectors("notes", []) == {}

    # --- search -----------------------------------------------------------------------------------
    def test_query_ranks_by_cosine_similarity(self, filled):
        hits = filled.query("notes", unit(0, 1, 0.1), 3)
        assert all(isinstance(h, Hit) for h in hits)
        assert [h.chunk_id for h in hits] == [B.id, C.id, A.id]
        assert hits[0].chunk == B
        expected = [unit(0, 1, 0.1)[1], 0.6 * unit(0, 1, 0.1)[1] + 0.8 * unit(0, 1, 0.1)[2], 0.0]
        assert [h.score for h in hits] == pytest.approx(expected, abs=1e-4)

    def test_query_returns_at_most_k_and_at_most_all(self, filled):
        assert len(filled.query("notes", VA, 1)) == 1
        assert len(filled.query("notes", VA, 10)) == 3

    def test_query_of_an_emptied_collection_is_empty(self, filled):
        filled.delete_chunks("notes", [A.id, B.id, C.id])
        assert filled.count("notes") == 0
        assert filled.query("notes", VA, 3) == []

    # --- re-embedding -----------------------------------------------------------------------------
    def test_replace_collection_swaps_model_and_vectors(self, filled):
        filled.replace_collection("notes", "model-b", [A, B], [VB, VA])
        assert filled.collections() == ["notes"]  # the side collection is gone
        assert filled.fingerprint("notes") == "model-b"
        assert filled.count("notes") == 2
        assert filled.query("notes", VA, 1)[0].chunk_id == B.id

    def test_finish_replace_without_a_replacement_changes_nothing(self, filled):
        filled.finish_replace("notes")
        assert filled.count("notes") == 3 and filled.fingerprint("notes") == FP

    # --- operation --------------------------------------------------------------------------------
    def test_ping_and_location(self, store):
        store.ping()
        assert isinstance(store.location, str) and store.location

    def test_readers_wait_for_a_writer(self, filled):
        seen: list[int] = []
        with filled.writing():
            reader = threading.Thread(target=lambda: seen.append(filled.count("notes")))
            reader.start()
            reader.join(0.3)
            assert reader.is_alive()  # blocked while the batch is being written
            filled.upsert("notes", FP, [chunk("delta", doc="d3")], [VA])
        reader.join(10)
        assert seen == [4]  # it saw the whole batch
