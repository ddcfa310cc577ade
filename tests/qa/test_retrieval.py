"""Retrieval modes over the in-memory store (it passes the Store contract that ChromaStore passes,
tests/index/store_contract.py) and the real keyword index; hash embedder."""

from __future__ import annotations

import pytest

import qa
from index.memory_store import InMemoryStore
from qa.config import Config
from qa.errors import ConfigError
from qa.retrieval import relative_fusion, rrf
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit

DOCS = {
    "a.txt": "Invoice 4471 was paid by Acme Corporation on 3 March.",
    "b.txt": "Payments from customers are usually settled within thirty days.",
    "c.txt": "The warehouse in Ghent stores spare parts for the turbines.",
    "d.txt": "Acme Corporation opened an office in Lisbon last spring.",
}


@pytest.fixture
def service(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    s = qa.open(home=tmp_path / "home", generator="extractive", embedder=HashEmbedder(), store=InMemoryStore())
    s.ingest([folder])
    return s


def test_rrf_rewards_agreement_and_keeps_order_on_ties():
    assert rrf([["a", "b", "c"], ["c", "a"]]) == ["a", "c", "b"]
    assert rrf([["x", "y"], []]) == ["x", "y"]
    assert rrf([]) == []


def test_relative_fusion_normalises_each_list():
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.5)]
    keyword = [("c", 12.0), ("d", 3.0)]
    # a: 0.7*1; c: 0.7*0 + 0.3*1; b: 0.7*0.75; d: 0
    assert relative_fusion(dense, keyword, 0.7) == ["a", "b", "c", "d"]
    assert relative_fusion(dense, keyword, 0.2) == ["c", "a", "b", "d"]
    assert relative_fusion([], keyword) == ["c", "d"] and relative_fusion([], []) == []


def test_relative_fusion_counts_a_lone_keyword_hit():
    """A rare name only one chunk holds is BM25's single hit: min-max over one score must not make it 0."""
    dense = [("a", 0.40), ("b", 0.39)]
    assert relative_fusion(dense, [("c", 10.4)], 0.7) == ["a", "c", "b"]  # c: 0.3 (it counted 0 and came last)
    assert relative_fusion([], [("x", 3.0), ("y", 3.0)]) == ["x", "y"]


def test_bm25_finds_exact_numbers_and_names(service):
    hits = service.retriever_for("bm25").retrieve("Which invoice number 4471?", "default", 2)
    assert hits[0].source.endswith("a.txt")
    assert service.retriever_for("bm25").retrieve("the of and", "default", 3) == []  # only stop words


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_scores_passages_by_cosine(service, mode):
    hits = service.retriever_for(mode).retrieve("Acme Corporation invoice", "default", 3)
    dense = {p.chunk_id: p.score for p in service.retriever_for("dense").retrieve("Acme Corporation invoice", "default", 4)}
    assert hits and [p.n for p in hits] == list(range(1, len(hits) + 1))
    for p in hits:
        assert p.score == pytest.approx(dense[p.chunk_id], abs=1e-5)


def test_hybrid_is_the_default_and_mixes_both_lists(service):
    assert service.config.retrieval == "hybrid"
    got = [p.source[-5:] for p in service.retriever.retrieve("Acme Corporation invoice 4471", "default", 4)]
    assert got[0] == "a.txt" and "d.txt" in got


def test_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        Config(retrieval="fuzzy")
    assert "hybrid" in info.value.message
    assert Config.load(env={"GROUNDQA_RETRIEVAL": "bm25"}).retrieval == "bm25"


TOPICS = ["routing", "templates", "sessions", "cookies", "middleware", "websockets", "lifespan", "schemas",
          "static files", "background tasks", "exceptions", "configuration", "authentication", "requests",
          "responses", "database access", "testing with a client", "server push", "thread pools", "GraphQL"]


@pytest.fixture
def product_docs(tmp_path):
    """A product's docs: every page names the product (its subject); one page is about running the test suite."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, topic in enumerate(TOPICS):
        (folder / f"page{i:02d}.md").write_text(f"# {topic.title()}\n\nZorblax supports {topic}. Zorblax makes "
                                                f"{topic} easy for every Zorblax user.\n")
    (folder / "contributing.md").write_text("# Contributing\n\nTo run the test suite as a contributor, use the "
                                            "command scripts/test.\n")
    s = qa.open(home=tmp_path / "home", generator="extractive", embedder=HashEmbedder(), store=InMemoryStore())
    s.ingest([folder])
    return s


def test_the_collection_s_subject_is_left_out_of_the_dense_query(product_docs):
    from qa.retrieval import subject_free

    manifest = product_docs.manifests("default")
    assert manifest.chunk_frequency("Zorblax") > 0.5 * manifest.count_chunks()
    assert subject_free("What command runs the Zorblax test suite?", manifest) == "What command runs the test suite?"
    assert subject_free("What does Zorblax's router do?", manifest) == "What does router do?"  # its possessive too
    assert subject_free("Does GraphQL work?", manifest) == "Does GraphQL work?"  # a name one page has stays
    assert subject_free("Zorblax?", manifest) == "Zorblax?"  # nothing would be left


def test_a_small_collection_has_no_subject_to_leave_out(service):
    from qa.retrieval import subject_free

    manifest = service.manifests("default")
    assert manifest.chunk_frequency("Acme") == 2
    assert subject_free("Where did Acme Corporation open an office?", manifest) == \
        "Where did Acme Corporation open an office?"  # 4 chunks: shares say nothing


def test_without_the_subject_the_dense_list_finds_the_page_that_answers(product_docs):
    question = "How do Zorblax contributors check their changes?"
    dense = product_docs.retriever_for("dense").retrieve(question, "default", 1)
    assert dense[0].source.endswith("contributing.md")
    off = product_docs.variant(without="collection_subject").retriever_for("dense").retrieve(question, "default", 1)
    assert not off[0].source.endswith("contributing.md")  # the subject's pages crowd it out
    whole = product_docs.embedder.embed([question])[0]  # scores stay cosines with the question as asked
    page = product_docs.retriever_for("dense")._hits([dense[0].chunk_id], "default", whole, [])[0]
    assert dense[0].score == pytest.approx(page.score, abs=1e-5)
