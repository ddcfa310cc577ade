"""End to end on the seed article with the real embedding model, real Chroma and real SmolLM2."""

import pytest

from tests.conftest import SEED_FILE

pytestmark = pytest.mark.integration
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")


def assert_exact_quotes(answer):
    for c in answer.citations:
        assert SEED_TEXT[c.start : c.end] == c.quote
        assert c.source.endswith(SEED_FILE.name)


@pytest.mark.parametrize("generator", ["local", "extractive"])
def test_how_did_the_us_vote(real_service, generator):
    answer = real_service.ask("How did the US vote?", generator=generator)
    assert not answer.refused, answer.to_dict()
    assert answer.generator == generator
    assert "against" in answer.answer.lower()
    assert any("voting against it" in c.quote for c in answer.citations), answer.to_dict()
    assert "[1]" in answer.answer
    assert_exact_quotes(answer)
    assert all(s.supported for s in answer.sentences if any(f"[{n}]" in answer.answer for n in s.citations))


@pytest.mark.parametrize("generator", ["local", "extractive"])
def test_unanswerable_question_is_refused(real_service, generator):
    answer = real_service.ask("How did China vote on the resolution?", generator=generator)
    assert answer.refused, answer.to_dict()
    assert answer.citations == []
    assert "not contain" in answer.answer


def test_the_local_model_really_generated(real_service):
    answer = real_service.ask("Who met Trump in the Oval Office?", generator="local")
    assert answer.raw_answer.strip()  # SmolLM2 wrote something
    assert answer.timings_ms["generate"] > 0
    assert not answer.refused and "Macron" in answer.answer
    assert_exact_quotes(answer)


def test_refused_before_the_model_is_asked(real_service):
    """China is in no passage: the service refuses before generation, so SmolLM2 cannot invent China's vote."""
    answer = real_service.ask("How did China vote on the resolution?", generator="local")
    assert answer.refused and answer.citations == [] and answer.raw_answer == ""
    assert answer.refusal_reason == "not_mentioned" and answer.timings_ms["generate"] == 0.0
    assert "China" in answer.answer


def test_a_correct_answer_keeps_its_citations(real_service):
    answer = real_service.ask("What did Trump say Putin would not oppose?", generator="local")
    assert not answer.refused, answer.to_dict()
    assert "peacekeeping" in answer.answer
    assert answer.citations and all(f"[{c.n}]" in answer.answer for c in answer.citations)
    assert any("peacekeeping force" in c.quote for c in answer.citations)
    assert_exact_quotes(answer)
    assert answer.grounding > 0
