import pytest

from index.chunking import chunk_document, sentence_spans, split_sentences
from index.documents import Document
from tests.conftest import SEED_FILE

pytestmark = pytest.mark.unit


def test_every_chunk_is_the_exact_source_slice():
    doc = Document(text=SEED_FILE.read_text(encoding="utf-8"), source="seed.txt")
    chunks = chunk_document(doc, max_chars=300)
    assert len(chunks) > 3
    for c in chunks:
        assert c.text == doc.text[c.start : c.end]
        assert c.doc_id == doc.id
    # chunks cover the text in order, each starting at or before the previous end (overlap, no gaps)
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start <= a.end + 1 or doc.text[a.end : b.start].strip() == ""


def test_overlap_repeats_the_last_sentence():
    text = " ".join(f"Sentence number {i} is here." for i in range(20))
    chunks = chunk_document(Document(text=text, source="s"), max_chars=100, overlap_sentences=1)
    for a, b in zip(chunks, chunks[1:]):
        last = split_sentences(a.text)[-1]
        assert b.text.startswith(last)


def test_sentences_respect_abbreviations_and_quotes():
    text = 'Dr. Smith met the U.S. envoy. “He agreed.” Then they left!\nNew line here'
    assert split_sentences(text) == ["Dr. Smith met the U.S. envoy.", "“He agreed.”", "Then they left!", "New line here"]
    for s in sentence_spans(text):
        assert text[s.start : s.end].strip() == text[s.start : s.end]


def test_a_sentence_longer_than_the_budget_is_its_own_chunk():
    long = "word " * 100 + "end."
    doc = Document(text=f"Short one. {long} Another short.", source="s")
    chunks = chunk_document(doc, max_chars=60)
    assert any(c.text == long.strip() for c in chunks)
    assert all(c.text == doc.text[c.start : c.end] for c in chunks)


def test_chunk_ids_are_content_hashes():
    a = chunk_document(Document(text="One. Two.", source="a.txt"))
    b = chunk_document(Document(text="One. Two.", source="a.txt"))
    c = chunk_document(Document(text="One. Three.", source="a.txt"))
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].id != c[0].id
