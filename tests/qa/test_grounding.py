"""The support scorer and citation repair on hand-written cases (hash embedder: lexical signal only)."""

import numpy as np
import pytest

from qa.answers import Passage
from qa.grounding import Calibration, Grounder, answer_sentences, strip_markers
from qa.decisions import Switches, role_conflict
from qa.errors import InvalidInput
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


def test_a_year_in_parentheses_is_not_a_marker_and_a_marker_before_a_new_sentence_ends_one():
    # a quote ending in a bracket the splitter does not read as a sentence end ("[citation needed]"), then the next
    assert answer_sentences("It was his composer).[citation needed] [1] The Terminal is a film [2].") == [
        "It was his composer).[citation needed] [1]", "The Terminal is a film [2]."]
    assert strip_markers("Mi va de cantare (1967) and Hello Brother (1968) [3]") == (
        "Mi va de cantare (1967) and Hello Brother (1968)", [3])
    assert strip_markers("It won twice (2).") == ("It won twice.", [])


def test_a_marker_after_a_colon_ends_the_sentence_that_introduces_a_code_block():
    # the extractive answer quotes "... how to register it:" and then the code block it introduces: two quotes,
    # two sentences, not one claim made of prose and code
    answer = "See below how to register it: [1] from datetime import datetime\n\nregister(DateTimeConvertor()) [1]"
    assert answer_sentences(answer)[0] == "See below how to register it: [1]"
    assert all("register it" not in s for s in answer_sentences(answer)[1:])
    assert answer_sentences("It is set to: [2] true, not false [2].") == ["It is set to: [2]", "true, not false [2]."]
    assert answer_sentences("Use the value 3 [1] and more [2].") == ["Use the value 3 [1] and more [2]."]
    assert strip_markers("Per our rules (v 2) it is [4].") == ("Per our rules (v 2) it is.", [4])


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
    text = ("The US abstained from the final vote. Macron met Trump in the Oval Office. "
            "The US ultimately chose to abstain on its own resolution.")
    out = g.compose(g.verify(text, ev), ev)
    assert [c.n for c in out.citations] == [1, 2]
    assert [s.citations for s in out.sentences] == [[1], [2], [1]]


def test_the_same_claim_from_the_same_quote_is_said_once():
    g = grounder()
    ev = g.evidence(passages())
    text = ("The US abstained from the final vote on its own resolution. Macron met Trump in the Oval Office. "
            "The US abstained on its own resolution.")
    out = g.compose(g.verify(text, ev), ev)
    assert [c.n for c in out.citations] == [1, 2]
    assert out.answer.count("abstained") == 1


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


def test_a_country_s_other_names_match_it():
    from qa.terms import content_terms, salient_terms

    assert content_terms("the American envoy") == content_terms("the US envoy") == content_terms("the United States envoy")
    assert "us" in content_terms("The White House said") and "us" in content_terms("Washington said")
    assert content_terms("a French minister") & content_terms("the minister of France") == {"france", "minister"}
    assert salient_terms("Did the Kremlin agree?") == {"russia"}
    assert "us" not in content_terms("they told us")  # the pronoun stays a stopword


def test_role_conflict_reads_roles_from_the_parse():
    """Who does what, from spaCy's parse (subject, verb lemma, entity type), not from capital letters: the
    question's own clause names the doer; a description ("the Norwegian minister"), a light verb ("do") or a
    clause inside a description says nothing about roles; passages telling the deed only of another name refuse."""
    g = grounder()

    def ev(text):
        return g.evidence([Passage(1, "t1", "d1", "t.txt", text, 0, len(text), 0.8)])

    summit = ev("At the summit, Brazil voted for the treaty while the delegates from Kenya abstained.")
    assert role_conflict("How did Norway vote on the treaty?", summit)  # only Brazil's vote is told
    assert not role_conflict("How did Brazil vote on the treaty?", summit)
    assert not role_conflict("What did the Norwegian minister announce?", summit)  # a description, not a name
    assert not role_conflict("What did Norway do next?", summit)  # a light verb says nothing about roles
    both = ev("Harrison and Okafor voted against it.")
    assert not role_conflict("How did Okafor vote?", both)  # conjoined subjects: Okafor voted too
    said = ev("Okafor noted that the budget would fund two schools.")
    assert not role_conflict("What did Okafor say about the budget?", said)  # verbs of saying stand for each other
    assert role_conflict("What did Harrison say about the budget?", said)
    assert not role_conflict("Who was president when Iowa became a state?", ev("Ohio became a state in 1803."))
    # ^ the question's own clause is "who was president": the deed inside its description is not asked about
    assert not role_conflict("When @requires(redirect=...) sends a user to the login page, what happens?",
                             ev("Starlette sends the user to the login page."))  # code, not a name


def test_places():
    from qa.terms import expected_type, has_type

    assert expected_type("In which city will the talks take place?") == "place"
    assert expected_type("Where did Okafor study?") == "name"
    assert has_type("The talks will be held in Geneva.", "place", "In which city will the talks take place?")
    assert not has_type("The talks with Geneva officials went well.", "place", "In which city will the talks take place?")


COUNCIL = (
    "The council met on Monday. Mayor Okafor said the budget would fund two new schools.\n"
    "Councillor Harrison voted against the budget, while the other members voted for it. "
    "The chair of the finance committee is Councillor Lindqvist."
)


def council_grounder():
    g = grounder()
    p = Passage(1, "c1", "d1", "council.txt", COUNCIL, 0, len(COUNCIL), 0.8)
    return g, g.evidence([p])


def test_a_question_about_someone_else_doing_it_is_refused():
    g, ev = council_grounder()
    assert not role_conflict("How did Harrison vote on the budget?", ev)
    assert role_conflict("How did Okafor vote on the budget?", ev)  # only Harrison's vote is reported
    assert not role_conflict("What did Okafor say about the budget?", ev)
    assert role_conflict("What did Harrison say about the schools?", ev)  # only Okafor speaks
    assert not role_conflict("What did Okafor promise?", ev)  # the verb is not there: nothing to check


def test_any_unmentioned_name_refuses():
    g, ev = council_grounder()
    g = Grounder(g.encode, Calibration(weights={}, bias=5.0, threshold=0.5, support_threshold=0.5))
    assert g.decide("What did Okafor say about the budget?", ev).answerable
    d = g.decide("What did Okafor say about Lagos?", ev)
    assert not d.answerable and d.unmentioned == ["Lagos"]
    assert d.rule == "unmentioned" and d.reason == "not_mentioned"


def test_switching_a_rule_off_changes_only_the_decision_it_made():
    g, ev = council_grounder()
    always = Calibration(weights={}, bias=5.0, threshold=0.5, support_threshold=0.5)  # the model alone would answer
    q = "How did Okafor vote on the budget?"  # only the role rule refuses this one
    on = Grounder(g.encode, always).decide(q, ev)
    assert not on.answerable and on.rule == "role_conflict" and on.reason == "role_mismatch"
    off = Grounder(g.encode, always, Switches.without("role_conflict")).decide(q, ev)
    assert off.answerable and off.rule is None
    # a question the other rules refuse stays refused without the role rule
    assert Grounder(g.encode, always, Switches.without("role_conflict")).decide(
        "What did Okafor say about Lagos?", ev).rule == "unmentioned"


def test_unknown_switch_names_are_a_clear_error():
    with pytest.raises(InvalidInput, match="role_conflict"):
        Switches.without("role_conflicts")


def test_question_clause_and_the_thing_asked_for():
    from qa.terms import focus_clause, wh_phrase_terms

    assert wh_phrase_terms("Which prize fell to Okafor after the vote?") == {"priz"}
    assert wh_phrase_terms("What kind of budget did the council pass?") == {"budget"}
    assert wh_phrase_terms("Which rival candidate was Okafor facing?") == {"rival", "candidat"}
    assert wh_phrase_terms("How did Okafor vote?") == set()
    assert focus_clause("After the budget passed, which councillor resigned?") == "which councillor resigned?"
    assert focus_clause("Which councillor resigned?") is None


ELECTION = (
    "Polling stations opened at eight on the day the council approved the new budget. "
    "Councillor Harrison campaigned in the market that morning. "
    "Mayor Okafor was debating Ana Costa on local radio. "
    "The prize for civic service went to the library volunteers."
)


def test_extractive_adds_the_sentence_for_the_question_clause_and_for_the_thing_asked_for():
    g = grounder()
    ev = g.evidence([Passage(1, "c1", "d1", "e.txt", ELECTION, 0, len(ELECTION), 0.8)])
    text = g.extractive("On the day the council approved the new budget, who was Okafor debating?", ev)
    assert "Ana Costa" in text and "Polling stations" in text
    text = g.extractive("Which prize fell on the day the council approved the budget?", ev)
    assert "library volunteers" in text
    # every sentence the extractive answer chose is kept, however few question words it shares
    verified = g.verify(text, ev, "Which prize fell on the day the council approved the budget?", filter_relevance=False)
    assert all(v.kept for v in verified)


def test_a_generated_answer_gives_way_to_the_extractive_one_when_it_cannot_be_trusted():
    g, ev = council_grounder()
    q = "How did Councillor Harrison vote on the budget?"
    extract = g.verify(g.extractive(q, ev), ev, q, filter_relevance=False)
    good = g.verify("Harrison voted against the budget.", ev, q)
    assert not g.needs_fallback(good, extract, q, ev)
    echo = g.verify("Councillor Harrison did vote on the budget.", ev, q)  # restates the question
    assert echo[0].kept and g.needs_fallback(echo, extract, q, ev)
    invented = g.verify("Harrison voted against the budget. Lagos sent 40 buses. Oslo paid for them. Harrison wept.", ev, q)
    assert g.needs_fallback(invented, extract, q, ev)  # most of it unsupported
    elsewhere = g.verify("Mayor Okafor said the budget would fund two new schools.", ev, q)
    assert elsewhere[0].kept and g.needs_fallback(elsewhere, extract, q, ev)  # true, but not what was asked


def test_list_items_are_never_paired_into_one_quote():
    text = ("The following arguments are supported.\n"
            "* `allow_origins` - A list of origins that may make requests.\n"
            "* `allow_methods` - A list of methods. Defaults to `['GET']`.\n")
    first = text.index("* `allow_origins`")
    second = text.index("* `allow_methods`")
    units = ((0, first - 1, "prose"), (first, second - 1, "list_item"), (second, len(text) - 1, "list_item"))
    p = Passage(1, "c1", "d1", "args.md", text, 0, len(text), 0.8, units=units)
    ev = grounder().evidence([p])
    pairs = [s.text for s in ev.spans if len(s.parts) > 1]
    assert not any("allow_origins" in t and "allow_methods" in t for t in pairs)  # another parameter's default
    assert all("* `" not in t for t in pairs)


def test_a_second_quote_only_when_it_adds_to_the_first():
    text = ("Session cookies expire after two weeks. Session cookies expire after two weeks unless configured. "
            "Background tasks run in order. Background tasks stop after a failure.")
    p = Passage(1, "c1", "d1", "notes.txt", text, 0, len(text), 0.8)
    g = grounder()
    ev = g.evidence([p])
    same = g.pick("When do session cookies expire?", ev, quoting=True)
    assert [s.text for s in same] == ["Session cookies expire after two weeks."]  # the other says nothing more
    assert len(g.pick("When do session cookies expire?", ev)) == 2  # the candidates the refusal features read
    off = Grounder(g.encode, g.calibration, Switches.without("second_adds"))
    assert len(off.pick("When do session cookies expire?", ev, quoting=True)) == 2
    assert [v.text for v in g.extract("When do session cookies expire?", ev)] == ["Session cookies expire after two weeks."]
    both = g.pick("Do background tasks run in order or stop after a failure?", ev, quoting=True)
    assert [s.text for s in both] == ["Background tasks run in order.", "Background tasks stop after a failure."]


def test_a_rare_question_word_outweighs_words_every_sentence_repeats():
    text = ("Starlette sessions store cookies. Starlette sessions sign cookies. Starlette sessions encode cookies. "
            "Starlette sessions read cookies. Starlette sessions write cookies. Sessions expire after two weeks.")
    p = Passage(1, "c1", "d1", "sessions.txt", text, 0, len(text), 0.8)
    g = grounder()
    ev = g.evidence([p])
    q = "When do Starlette session cookies expire?"
    assert [s.text for s in g.pick(q, ev, 1)] == ["Sessions expire after two weeks."]
    off = Grounder(g.encode, g.calibration, Switches.without("rarity"))
    assert [s.text for s in off.pick(q, ev, 1)] != ["Sessions expire after two weeks."]


def test_a_sentence_carrying_html_is_not_an_answer():
    text = ('Mangum is a serverless ASGI adapter for AWS Lambda.\n'
            '<a href="https://github.com/erm/mangum" target="_blank">Mangum on GitHub</a>\n')
    link = text.index("<a href")
    units = ((0, link - 1, "prose"), (link, len(text) - 1, "prose"))
    p = Passage(1, "c1", "d1", "packages.md", text, 0, len(text), 0.8, units=units)
    g = grounder()
    ev = g.evidence([p])
    q = "Where is Mangum on GitHub?"
    assert [s.text for s in g.pick(q, ev, quoting=True)] == ["Mangum is a serverless ASGI adapter for AWS Lambda."]
    off = Grounder(g.encode, g.calibration, Switches.without("html_markup"))
    assert any("<a href" in s.text for s in off.pick(q, ev, quoting=True))
