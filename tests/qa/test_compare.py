"""Comparisons and yes/no between two named things (qa/compare.py), with the real parts: spaCy's
en_core_web_sm, the shipped embedding model and Chroma on disk, over documents the test writes."""

import pytest

from qa.compare import comparison

BANDS = {
    "oasis.txt": "Oasis were an English rock band from Manchester. The band was formed in 1991 by Liam Gallagher "
                 "and Paul Arthurs.\n",
    "blur.txt": "Blur are an English rock band formed in London in 1988. Their debut album Leisure came out in 1991.\n",
    "wood.txt": "Ed Wood was an American filmmaker and actor. He is best known as the film director of Plan 9 from "
                "Outer Space.\n",
    "derrickson.txt": "Scott Derrickson is an American film director, screenwriter and producer. He directed "
                      "Doctor Strange.\n",
    "keys.txt": "Alicia Keys is an American singer and songwriter. She was born in New York City.\n",
    "pulp.txt": "Pulp were an English rock band from Sheffield. They played Glastonbury many times.\n",
}


@pytest.mark.unit
@pytest.mark.parametrize("question, kind, sides, attribute, direction", [
    ("Which band was formed first, Oasis or Blur?", "choice", ("Oasis", "Blur"), "time", "min"),
    ("Who was born earlier, Marie Curie or Albert Einstein?", "choice", ("Marie Curie", "Albert Einstein"), "time", "min"),
    ("Which city has more inhabitants, Lyon or Marseille?", "choice", ("Lyon", "Marseille"), "number", "max"),
    ("Is the Eiffel Tower older than the Statue of Liberty?", "than", ("Eiffel Tower", "Statue of Liberty"), "time", "min"),
    ("Are Ed Wood and Scott Derrickson both film directors?", "both", ("Ed Wood", "Scott Derrickson"), "category", ""),
])
def test_the_parse_gives_the_sides_and_the_attribute(question, kind, sides, attribute, direction):
    cmp = comparison(question)
    assert cmp is not None and (cmp.kind, cmp.sides, cmp.attribute, cmp.direction) == (kind, sides, attribute, direction)


@pytest.mark.unit
@pytest.mark.parametrize("question", ["How did the US vote?", "Which countries voted for or against the resolution?",
                                      "Should I use Starlette or FastAPI?", "Who directed the film shot in Leland?"])
def test_other_questions_are_not_comparisons(question):
    assert comparison(question) is None


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    import qa

    root = tmp_path_factory.mktemp("compare")
    docs = root / "docs"
    docs.mkdir()
    for name, text in BANDS.items():
        (docs / name).write_text(text)
    s = qa.open(home=root / "home", generator="extractive")
    s.ingest([docs])
    s.docs = docs
    return s


def _exact(service, answer):
    for c in answer.citations:
        assert (service.docs / c.source.rsplit("/", 1)[-1]).read_text()[c.start:c.end] == c.quote


@pytest.mark.integration
def test_a_comparison_picks_the_right_side_and_cites_both(service):
    a = service.ask("Which band was formed first, Oasis or Blur?", top_k=2)
    assert not a.refused, a.to_dict()
    assert a.short_answer == "Blur"
    assert {c.source.rsplit("/", 1)[-1] for c in a.citations} == {"oasis.txt", "blur.txt"}
    assert "1991" in a.answer and "1988" in a.answer
    assert [h["query"] for h in a.hops[1:]] and all("Oasis" in h["query"] or "Blur" in h["query"] for h in a.hops[1:])
    _exact(service, a)


@pytest.mark.integration
def test_both_yes_no_question_cites_both(service):
    a = service.ask("Are Ed Wood and Scott Derrickson both film directors?", top_k=2)
    assert not a.refused and a.short_answer == "Yes", a.to_dict()
    assert {c.source.rsplit("/", 1)[-1] for c in a.citations} == {"wood.txt", "derrickson.txt"}
    _exact(service, a)
    b = service.ask("Are Scott Derrickson and Alicia Keys both film directors?", top_k=2)
    assert not b.refused and b.short_answer == "No", b.to_dict()


@pytest.mark.integration
def test_a_comparison_with_one_side_missing_is_refused(service):
    a = service.ask("Which band was formed first, Pulp or Blur?", top_k=2)
    assert a.refused and a.refusal_reason == "comparison_side_missing", a.to_dict()
    assert a.timings_ms["generate"] == 0


@pytest.mark.integration
def test_than_question_says_yes_or_no(service):
    a = service.ask("Was Oasis formed later than Blur?", top_k=2)
    assert not a.refused and a.short_answer == "Yes", a.to_dict()
