"""The seed set and the ClapNQ adapter."""

from collections import Counter

import pytest

from evals.datasets import CLAPNQ_DEFAULT, Dataset, clapnq, seed_dataset, seed_documents
from qa.errors import PathNotFound
from tests.conftest import SEED_FILE

pytestmark = pytest.mark.unit
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")


def test_seed_evidence_is_copied_exactly_from_the_article():
    examples = seed_dataset()
    for e in examples:
        for sentence in e.evidence:
            assert sentence in SEED_TEXT, (e.id, sentence)
        assert e.answerable == bool(e.evidence), e.id


def test_seed_set_shape():
    examples = seed_dataset()
    assert len(examples) >= 30
    assert sum(not e.answerable for e in examples) >= 10
    assert len({e.id for e in examples}) == len(examples)
    assert all(e.answers for e in examples if e.answerable)
    assert any(len(e.evidence) >= 2 for e in examples)  # answers that span two paragraphs
    docs = seed_documents()
    assert [d.text for d in docs] == [SEED_TEXT]


def test_clapnq_default_subset_is_fixed_and_balanced():
    examples, documents = clapnq()
    again, _ = clapnq()
    assert [e.id for e in examples] == [e.id for e in again]
    assert Counter(e.answerable for e in examples) == {True: 50, False: 50}
    # every dev passage is pooled, once
    assert len({d.text for d in documents}) == len(documents) > 500
    sources = {d.source for d in documents}
    for e in examples:
        assert e.gold_sources and set(e.gold_sources) <= sources
        assert e.question
        if e.answerable:
            assert e.answers and e.evidence
        else:
            assert e.answers == [] and e.evidence == []
    d = documents[0]
    assert d.source.startswith(f"clapnq/{d.title}#")


def test_clapnq_limit_all_and_seed():
    small, _ = clapnq(limit=4)
    assert Counter(e.answerable for e in small) == {True: 2, False: 2}
    everything, _ = clapnq(all=True)
    assert len(everything) == 600
    other, _ = clapnq(seed=99)
    assert {e.id for e in other} != {e.id for e in clapnq()[0]}


def test_clapnq_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.delenv("GROUNDQA_CLAPNQ", raising=False)
    with pytest.raises(PathNotFound, match="Pass the folder with --docs or set GROUNDQA_CLAPNQ"):
        clapnq(tmp_path)
    monkeypatch.setenv("GROUNDQA_CLAPNQ", str(CLAPNQ_DEFAULT))
    assert len(clapnq(limit=2)[0]) == 2


def test_collection_name_follows_the_documents():
    docs = seed_documents()
    a = Dataset("seed", [], docs)
    assert a.collection == Dataset("seed", seed_dataset(), docs).collection  # questions do not matter
    assert a.collection != Dataset("seed", [], docs[:0]).collection
    assert a.collection.startswith("eval-seed-")
