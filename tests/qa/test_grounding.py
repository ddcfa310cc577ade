"""The support scorer and citation repair on hand-written cases (hash embedder: lexical signal only)."""

import numpy as np
import pytest

from qa.answers import Passage
from qa.grounding import Calibration, Grounder, answer_sentences, strip_markers
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit

DOC = (
    "Macron met Trump in the Oval Office. They discussed the war in Ukraine.\n"
    "On the same day, the UN General Assembly adopted a resolution condemning Russia's invasion of Ukraine, "
    "despite the US voting against it. The US abstained from the final vote on its own resolution.\n"
    "Europeans are prepared to assist Ukraine with military support."
)


def passages():
    # Two passages of the same document, with their true offsets.
    first_end = DOC.index("On the same day")
    p1 = Passage(1, "c1", "d1", "doc.txt", DOC[:first_end].rstrip(), 0, len(DOC[:first_end].rstrip()), 0.5)
    s2 = first_end
    p2 = Passage(2, "c2", "d1", "doc.txt", DOC[s2:], s2, len(DOC), 0.7)
    return [p1, p2]


def grounder():
    emb = HashEmbedder()
    encode = lambda texts: np.asarray(emb.embed(list(texts)), dtype=np.float32)
    cal = Calibration(weights={}, bias=0.0, threshold=0.5, support_threshold=0.5)
    return Grounder(encode, cal)


def test_marker_parsing():
    assert strip_markers("The US voted against it [2].") == ("The US voted against it.", [2])
    assert strip_markers("Yes [1, 3] and (Passage 2)")[1] == [1, 3]
    assert answer_sentences("One claim. [1] Two claims [2].") == ["One claim. [1]", "Two claims [2]."]


def test_supported_sentence_keeps_its_marker_and_quotes_an_exact_slice():
    g = grounder()
    ev = g.evidence(passages())
    [v] = g.verify("The US voted against the UN resolution condemning Russia's invasion [2].", ev)
    assert v.supported and v.span.passage == 2
    assert DOC[v.span.start : v.span.end] == v.span.text
    assert "voting against it" in v.span.text
    assert len(v.span.text) < len(passages()[1].text)  # a sentence, not the whole chunk


def test_unsupported_sentence_is_flagged_and_removed():
    g = grounder()
    ev = g.evidence(passages())
    verified = g.verify("China voted in favour of Beijing's proposal. The US voted against the resolution [2].", ev)
    assert [v.supported for v in verified] == [False, True]
    out = g.compose(verified, ev)
    assert "China" not in out.answer and out.answer.endswith("[1].")
    assert out.sentences[0].supported is False and out.sentences[0].citations == []
    assert out.grounding == 0.5
    kept = g.compose(verified, ev, keep_unsupported=True)
    assert "China voted in favour of Beijing's proposal. [unsupported]" in kept.answer


def test_wrong_marker_is_moved_to_the_supporting_passage():
    g = grounder()
    ev = g.evidence(passages())
    [v] = g.verify("Macron met Trump in the Oval Office [2].", ev)
    assert v.claimed == [2] and v.supported and v.span.passage == 1


def test_missing_marker_is_added_and_markers_pointing_nowhere_are_dropped():
    g = grounder()
    ev = g.evidence(passages())
    out = g.compose(g.verify("Europeans are prepared to assist Ukraine with military support [9].", ev), ev)
    assert out.answer == "Europeans are prepared to assist Ukraine with military support [1]."
    [c] = out.citations
    assert c.n == 1 and c.passage == 2 and c.quote == DOC[c.start : c.end]


def test_citations_are_numbered_by_first_use_and_shared():
    g = grounder()
    ev = g.evidence(passages())
    text = "The US abstained from the final vote on its own resolution. Macron met Trump in the Oval Office. The US abstained on its own resolution."
    out = g.compose(g.verify(text, ev), ev)
    assert [c.n for c in out.citations] == [1, 2]
    assert [s.citations for s in out.sentences] == [[1], [2], [1]]


def test_extractive_picks_the_sentence_that_answers():
    g = grounder()
    ev = g.evidence(passages())
    text = g.extractive("How did the US vote on the resolution condemning the invasion?", ev)
    assert "despite the US voting against it" in text and text.endswith("[2]")


def test_answerability_features_see_missing_names():
    g = grounder()
    ev = g.evidence(passages())
    f_china = g.features("How did China vote?", ev)
    f_us = g.features("How did the US vote?", ev)
    assert f_china["missing_salient"] == 1.0 and f_us["missing_salient"] == 0.0
    assert f_us["q_cov"] == 1.0
    assert f_china["q_cov"] < 1.0


def test_no_passages_means_nothing_is_supported():
    g = grounder()
    ev = g.evidence([])
    [v] = g.verify("Anything at all.", ev)
    assert not v.supported
    assert g.extractive("Anything?", ev) == ""


def test_a_number_the_quote_does_not_have_makes_a_claim_unsupported():
    g = grounder()
    ev = g.evidence(passages())
    [v] = g.verify("On March 21, 2022 the UN General Assembly adopted a resolution condemning Russia's invasion of Ukraine.", ev)
    assert not v.supported


def test_negation_flip_is_not_support():
    g = grounder()
    ev = g.evidence(passages())
    [v] = g.verify("Europeans are not prepared to assist Ukraine with military support.", ev)
    assert not v.supported


def test_repeated_sentences_count_once():
    g = grounder()
    ev = g.evidence(passages())
    verified = g.verify("Macron met Trump in the Oval Office. Macron met Trump in the Oval Office.", ev)
    assert len(verified) == 1


def test_expected_answer_types():
    from qa.terms import expected_type, has_type

    assert expected_type("When did the war start?") == "time" and has_type("It began in 1939.", "time")
    assert expected_type("how many people live in Paris") == "number" and not has_type("Paris is large.", "number")
    assert expected_type("who sang love the one you're with") == "name"
    assert has_type("It is a song by Stephen Stills.", "name", "who sang love the one you're with")
    assert expected_type("Why did the US abstain?") is None


def test_irregular_verbs_match_their_other_forms():
    from qa.terms import stem

    assert stem("met") == stem("meeting") == stem("meet")
    assert stem("wrote") == stem("written") == stem("writing")
    assert stem("died") == stem("die") and stem("vote") == stem("voted") == stem("voting")
