"""The service's logic over real Chroma, with the hash embedder and a scripted generator."""

import json

import pytest

from qa.errors import CollectionNotFound, EmptyQuestion, InvalidCollectionName, PathNotFound, QuestionTooLong
from tests.conftest import SEED_FILE

pytestmark = pytest.mark.unit

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")


def test_answer_contract_and_exact_quotes(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "The US voted against the UN General Assembly resolution [1]. [7] is not a passage."
    answer = fake_service.ask("How did the US vote on the UN General Assembly resolution?")
    d = answer.to_dict()
    assert set(d) >= {"question", "answer", "refused", "citations", "generator", "timings_ms", "grounding", "sentences"}
    assert set(d["timings_ms"]) >= {"retrieve", "generate", "total"}
    assert d["refused"] is False and d["generator"] == "scripted"
    assert d["citations"], d
    for c in d["citations"]:
        assert set(c) >= {"n", "source", "chunk_id", "quote", "start", "end"}
        assert SEED_TEXT[c["start"] : c["end"]] == c["quote"]
        assert c["source"].endswith(SEED_FILE.name)
        assert f"[{c['n']}]" in d["answer"]
    assert "[7]" not in d["answer"]
    json.dumps(d)  # serialisable


def test_ingest_twice_embeds_once(fake_service, seed_copy):
    first = fake_service.ingest([seed_copy])
    count = fake_service.store.count("default")
    calls = fake_service.embedder.texts_embedded
    second = fake_service.ingest([seed_copy])
    assert first.added == 1 and second.unchanged == 1 and second.chunks == 0
    assert fake_service.store.count("default") == count
    assert fake_service.embedder.texts_embedded == calls


def test_changed_file_replaces_its_chunks(fake_service, tmp_path):
    f = tmp_path / "note.txt"
    f.write_text("The bridge opened in 1999. It is red.")
    fake_service.ingest([f])
    f.write_text("The bridge opened in 2001. It is blue and long.")
    report = fake_service.ingest([f])
    assert report.updated == 1
    texts = [c.text for c in fake_service.store.all_chunks("default")]
    assert all("1999" not in t for t in texts) and any("2001" in t for t in texts)


def test_invented_answer_is_not_shown_as_fact(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "China voted in favour of the resolution [1]."
    answer = fake_service.ask("How did China vote?")
    assert answer.refused and answer.citations == []
    assert "not contain" in answer.answer and answer.refusal_reason == "not_mentioned"


def test_a_refused_question_never_reaches_the_generator(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    gen = fake_service.generator("scripted")
    fake_service.script["text"] = "China voted in favour of the resolution [1]."
    before = len(gen.seen)
    events = list(fake_service.ask_stream("How did China vote?"))
    assert len(gen.seen) == before  # the generator was not called
    assert [e.kind for e in events] == ["answer"]  # nothing streamed as a draft
    answer = events[0].answer
    assert answer.refused and answer.raw_answer == "" and answer.timings_ms["generate"] == 0.0
    assert answer.refusal_reason == "not_mentioned"
    fake_service.script["text"] = "The US voted against it [1]."
    answered = fake_service.ask("How did the US vote?")
    assert len(gen.seen) == before + 1 and not answered.refused and answered.refusal_reason is None


def test_model_refusal_falls_back_to_the_passage_that_answers(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "The documents do not say."
    answer = fake_service.ask("How did the US vote on the resolution condemning Russia's invasion?")
    assert not answer.refused and answer.fallback == "extractive"
    assert "voting against it" in answer.citations[0].quote


def test_stream_yields_tokens_then_the_verified_answer(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "The US voted against the resolution [1]."
    events = list(fake_service.ask_stream("How did the US vote?"))
    assert [e.kind for e in events[:-1]] == ["token"] * (len(events) - 1) and len(events) > 2
    assert events[-1].kind == "answer" and events[-1].answer.raw_answer == "".join(e.text for e in events[:-1])


@pytest.mark.parametrize("question,error", [("", EmptyQuestion), ("   \n", EmptyQuestion), ("x" * 100_000, QuestionTooLong)])
def test_bad_questions(fake_service, seed_copy, question, error):
    fake_service.ingest([seed_copy])
    with pytest.raises(error) as info:
        fake_service.ask(question)
    assert info.value.status in (400, 413)


def test_unknown_collection_names_the_fix(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    with pytest.raises(CollectionNotFound) as info:
        fake_service.ask("How did the US vote?", collection="nothere")
    assert "qa ingest" in info.value.message and "default" in info.value.message
    with pytest.raises(InvalidCollectionName):
        fake_service.ask("How did the US vote?", collection="../x")


def test_a_bad_file_is_skipped_with_its_error_and_the_rest_goes_on(fake_service, seed_copy, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02\x03")
    report = fake_service.ingest([bad])
    assert (report.added, report.failed) == (0, 1) and "default" not in fake_service.collections()
    report = fake_service.ingest([seed_copy, bad])
    assert (report.added, report.failed) == (1, 1)
    assert report.errors[0]["source"] == str(bad) and "binary" in report.errors[0]["error"]
    count = fake_service.store.count("default")
    with pytest.raises(PathNotFound):  # a path that does not exist stops the batch before any work
        fake_service.ingest([seed_copy, tmp_path / "missing.md"])
    assert fake_service.store.count("default") == count


def test_keep_unsupported_keeps_and_marks_them(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = ("The US ultimately chose to abstain from the final vote on its own resolution [1]. "
                                   "Beijing sent 40 tanks to Norway.")
    q = "What did the US do in the final vote on its own resolution?"
    default = fake_service.ask(q)
    kept = fake_service.ask(q, keep_unsupported=True)
    assert "Beijing" not in default.answer
    assert "Beijing sent 40 tanks to Norway. [unsupported]" in kept.answer
    for a in (default, kept):
        assert [s.supported for s in a.sentences] == [True, False]


def test_refusal_names_what_the_documents_never_mention(fake_service, seed_copy):
    fake_service.ingest([seed_copy])
    fake_service.script["text"] = "China voted in favour [1]."
    answer = fake_service.ask("How did China vote?")
    assert answer.refused and answer.answer.endswith("The passages found do not mention China.")
