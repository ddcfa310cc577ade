"""Conversations: follow-ups rewritten to stand alone, saved turns, feedback and its export as eval items."""

from __future__ import annotations

import pytest

from evals.datasets import parse_example
from qa.answers import Answer, Citation
from qa.conversations import (ConversationStore, HistoryTurn, Rewrite, Rewriter, Turn, acceptable,
                              answer_from_dict, export_items)
from qa.errors import InvalidInput, NotFound
from qa.service import Service
from tests.conftest import SEED_FILE

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
US_VOTE = HistoryTurn("How did the US vote?", "against it\n\nOn the same day, the UN General Assembly adopted ...")


def _answer(question: str, text: str, refused: bool = False, quote: str = "The US ultimately chose to abstain.") -> Answer:
    cites = [] if refused else [Citation(1, "seed.txt", "c1", quote, 0, len(quote), "d1", passage=1)]
    return Answer(question=question, answer=text, refused=refused, citations=cites, generator="extractive",
                  timings_ms={"total": 1.0}, short_answer=None if refused else "abstain")


# --- unit: pure logic ----------------------------------------------------------------------------------------
@pytest.mark.unit
def test_a_model_rewrite_must_keep_the_turn_and_add_only_history_words():
    history = [US_VOTE]
    assert acceptable("How did the US vote on its own resolution?", "And on its own resolution?", history)
    assert not acceptable("How did China vote on its own resolution?", "And on its own resolution?", history)  # new word
    assert not acceptable("How did the US vote?", "And on its own resolution?", history)  # dropped the turn's words


@pytest.mark.unit
def test_export_makes_eval_items_that_the_dataset_loader_reads():
    up = Turn(1, "And on its own resolution?", "How did the US vote on its own resolution?", "deterministic",
              _answer("And on its own resolution?", "The US ultimately chose to abstain [1]."), rating=1)
    down = Turn(2, "When?", "When did the US vote?", "deterministic", _answer("When?", "In May [1]."), rating=-1,
                comment="wrong")
    refused_up = Turn(3, "And China?", "How did China vote?", "deterministic",
                      _answer("And China?", "Not in your documents.", refused=True), rating=1)
    refused_down = Turn(4, "Who won?", "Who won?", "unchanged", _answer("Who won?", "No.", refused=True), rating=-1)
    items, skipped = export_items([("c", up), ("c", down), ("c", refused_up), ("c", refused_down)])
    assert skipped == 1 and len(items) == 3
    first = parse_example(items[0], "item 1")
    assert first.question == "How did the US vote on its own resolution?" and first.answerable
    assert first.answers == ["The US ultimately chose to abstain."]  # citation marks left out
    assert first.evidence == ["The US ultimately chose to abstain."]
    assert items[0]["rating"] == "up" and items[0]["answer_given"] == "The US ultimately chose to abstain [1]."
    assert items[0]["citations"][0]["quote"] == "The US ultimately chose to abstain."
    assert [parse_example(i, "x").answerable for i in items[1:]] == [False, False]  # wrong answer -> should refuse
    assert items[1]["comment"] == "wrong"


@pytest.mark.unit
def test_the_store_keeps_turns_and_feedback_across_reopening(tmp_path):
    path = tmp_path / "conversations.sqlite3"
    store = ConversationStore(path)
    info = store.create("default", "extractive")
    answer = _answer("How did the US vote?", "Against it [1].")
    store.add_turn(info.id, Turn(1, "How did the US vote?", "How did the US vote?", "unchanged", answer, created=1.0))
    store.rate(answer.answer_id, -1, "not the final vote")

    again = ConversationStore(path)  # a new process over the same home
    assert [c.id for c in again.list()] == [info.id] and again.info(info.id).turns == 1
    turn = again.turns(info.id)[0]
    assert turn.answer.to_dict() == answer.to_dict() and turn.rating == -1 and turn.comment == "not the final vote"
    assert answer_from_dict(answer.to_dict()).to_dict() == answer.to_dict()
    again.delete(info.id)
    with pytest.raises(NotFound, match="GET /v1/conversations"):
        again.info(info.id)
    with pytest.raises(NotFound):
        again.rate(answer.answer_id, 1, None)


@pytest.mark.unit
def test_limits_and_bad_input_have_clear_errors(fake_service):
    service: Service = fake_service
    service.ingest([SEED_FILE])
    with pytest.raises(NotFound):
        service.conversation("no-such-id")
    with pytest.raises(InvalidInput, match='"up" or "down"'):
        service.feedback("x", "sideways")
    small = Service(service.config.with_(max_turns=1), embedder=service.embedder, store=service.store,
                    generators=service._generators, calibration=service.grounder.calibration)
    conv = small.conversation()
    conv.ask("How did the US vote on the resolution?")
    with pytest.raises(InvalidInput, match="limit of 1 turns.*GROUNDQA_MAX_TURNS"):
        conv.ask("And on its own resolution?")
    assert len(conv.turns) == 1


# --- integration: spaCy, the real models, the seed article ---------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("question, history, expected, method", [
    ("And on its own resolution?", [US_VOTE], "How did the US vote on its own resolution?", "deterministic"),
    ("What about the async client?", [HistoryTurn("How do I make requests with the test client?")],
     "How do I make requests with the async client?", "deterministic"),
    ("And Russia?", [HistoryTurn("How did the US vote?")], "How did Russia vote?", "deterministic"),
    ("Did it pass?", [HistoryTurn("What did the UN General Assembly adopt?", "a resolution condemning Russia's invasion")],
     "Did the resolution condemning Russia's invasion pass?", "deterministic"),
    ("What did he say about Putin?", [HistoryTurn("Who did Trump meet?", "Emmanuel Macron")],
     "What did Emmanuel Macron say about Putin?", "deterministic"),
    ("What did Macron say about Ukraine?", [US_VOTE], "What did Macron say about Ukraine?", "unchanged"),
    ("How did the US vote?", [], "How did the US vote?", "unchanged"),
])
def test_follow_ups_are_rewritten_and_self_contained_questions_are_not(question, history, expected, method):
    rw = Rewriter().rewrite(question, history)
    assert (rw.standalone, rw.method) == (expected, method)


@pytest.fixture(scope="module")
def extractive(real_service):
    return real_service.variant(generator="extractive")


@pytest.mark.integration
def test_a_follow_up_is_answered_in_context_and_the_turns_persist(extractive):
    conv = extractive.conversation()
    first = conv.ask("How did the US vote?")
    assert "against" in first.answer and first.standalone_question == "How did the US vote?"
    second = conv.ask("And on its own resolution?")
    assert second.question == "And on its own resolution?"
    assert second.standalone_question == "How did the US vote on its own resolution?"
    assert not second.refused and "abstain" in second.answer
    for c in second.citations:
        assert SEED_TEXT[c.start : c.end] == c.quote
    assert any("abstain" in c.quote for c in second.citations)
    d = second.to_dict()
    assert d["conversation_id"] == conv.id and d["standalone_question"] == second.standalone_question
    assert extractive.ask("How did the US vote?").to_dict()["conversation_id"] is None  # single asks unchanged

    # A new Service over the same home (a restart) sees the same turns and answers.
    again = Service(extractive.config, embedder=extractive.embedder, store=extractive.store)
    turns = again.conversation(conv.id).turns
    assert [t.question for t in turns] == ["How did the US vote?", "And on its own resolution?"]
    assert turns[1].answer.to_dict() == second.to_dict() and turns[1].method == "deterministic"
    assert conv.id in {c.id for c in again.conversations()}


@pytest.mark.integration
def test_a_follow_up_about_what_the_article_lacks_is_refused(extractive):
    conv = extractive.conversation()
    conv.ask("How did the US vote?")
    answer = conv.ask("And what did China say about it?")
    assert answer.standalone_question.startswith("What did China say about")
    assert answer.refused and answer.citations == []


# --- the rewriter on the kinds of follow-up that went wrong (new examples, not the eval's items) ------------------
H = HistoryTurn


@pytest.mark.integration
@pytest.mark.parametrize("question, history, expected", [
    # pronouns: agreement, role, never the turn's own subject, people named only in the answer, the filled slot
    ("Where should I catch it?", [H("What status does Mount return for a NoMatchFound error?")],
     "Where should I catch the NoMatchFound error?"),
    ("How did the committee vote on it?", [H("What did the committee decide about the budget?")],
     "How did the committee vote on the budget?"),
    ("What did she say about trade?", [H("Who chaired the meeting in Geneva?",
                                         "The meeting was chaired by Angela Merkel, who opened it with a speech.")],
     "What did Angela Merkel say about trade?"),
    ("Did the senators approve them?", [H("What did the report say must be added to the treaty?",
                                          "stronger safeguards\n\nThe report said stronger safeguards must be "
                                          "added [1].")],
     "Did the senators approve stronger safeguards?"),
    ("Does it apply to websockets?", [H("What does HTTPSRedirectMiddleware's redirect_code default to?")],
     "Does HTTPSRedirectMiddleware apply to websockets?"),
    ("How do I read its contents?", [H("Which class stores the uploaded file?",
                                       "`UploadFile`\n\nUploads are stored in an `UploadFile` [1].")],
     "How do I read the uploaded file's contents?"),
    # fragments with no clause of their own continue the previous question; "my own", "a bad one" take its noun
    ("Despite what objections?", [H("Which countries signed the accord in 2019?")],
     "Which countries signed the accord in 2019, despite what objections?"),
    ("Can I add my own?", [H("Which exception handler does Starlette install by default?")],
     "Can I add my own exception handler?"),
    ("And for a bad one?", [H("What status does Mount return for a missing path?")],
     "What status does Mount return for a bad path?"),
    # a code name replaces the frame's code name of the same kind, the rest of the frame kept
    ("What about PlainTextResponse?", [H("What does JSONResponse's media_type default to?")],
     "What does PlainTextResponse's media_type default to?"),
    ("And status_code?", [H("What does StreamingResponse's media_type default to?")],
     "What does StreamingResponse's status_code default to?"),
    # demonstratives and "And ..." questions that name nothing of their own
    ("Who drafted that proposal?", [H("What did the board reject?",
                                      "the merger proposal\n\nThe board rejected the merger proposal from Acme [1].")],
     "Who drafted the merger proposal?"),
    ("And how do I set a cache header?", [H("How do I mount static files with StaticFiles?")],
     "How do I set a cache header with StaticFiles?"),
    # a name replaces the frame's actor (its subject), and an earlier turn's appended ", despite what ..." goes
    ("And the European Commission?", [H("How much aid has the UK pledged to Ukraine?")],
     "How much aid has the European Commission pledged to Ukraine?"),
    ("And in 2020?", [H("Which countries signed the accord in 2019, despite what objections?")],
     "Which countries signed the accord in 2020?"),
    # an object pronoun after an attribute question takes the attribute with its owner; "in X" is only the setting
    ("Can I raise it?", [H("What is the default pool limit of httpx.Client?")],
     "Can I raise the default pool limit of httpx.Client?"),
    ("Can I use it in a WebSocket route?", [H("What does Depends do in FastAPI?")],
     "Can I use Depends in a WebSocket route?"),
    # a person pronoun is the main clause's person, whatever its own role
    ("Is the deal fair, according to her?", [H("What did Angela Merkel tell Boris Johnson about the deal?")],
     "Is the deal fair, according to Angela Merkel?"),
    # a possessive the parser tied to the turn's own object stands for the earlier topic
    ("How do I set the Cache-Control max-age for its files?", [H("Does Mount check that the path exists?")],
     "How do I set the Cache-Control max-age for Mount's files?"),
])
def test_follow_ups_of_each_kind_get_their_referents(question, history, expected):
    rw = Rewriter().rewrite(question, history)
    assert (rw.standalone, rw.method) == (expected, "deterministic")
    assert "`" not in rw.standalone


@pytest.mark.integration
@pytest.mark.parametrize("question", [
    "How do I configure the app and its routes?",  # its = the app
    "Will Uvicorn accept connections before it has loaded the app?",  # it = Uvicorn
])
def test_a_pronoun_that_stands_for_a_phrase_of_its_own_turn_is_left(question):
    assert Rewriter().rewrite(question, [H("What does Mount do?")]) == Rewrite(question, "unchanged")


@pytest.mark.integration
def test_each_turn_builds_on_the_previous_turn_rewritten():
    rewriter, history = Rewriter(), []
    out = []
    for q in ("What does StreamingResponse's media_type default to?", "And status_code?", "Can I change it?"):
        rw = rewriter.rewrite(q, history)
        history.append(HistoryTurn(rw.standalone))
        out.append(rw.standalone)
    assert out[1] == "What does StreamingResponse's status_code default to?"
    assert out[2] == "Can I change StreamingResponse's status_code?"  # what the previous turn asked about


@pytest.mark.integration
def test_a_rewrite_adds_nothing_that_does_not_agree():
    # "them" (plural) has no plural antecedent: left as asked rather than filled with "any trade deal"
    rw = Rewriter().rewrite("Did the union agree to them?",
                            [H("What did the minister say must be part of any trade deal?")])
    assert rw == Rewrite("Did the union agree to them?", "unchanged")
    # two pronouns in one turn stand for two different things
    rw = Rewriter().rewrite("Which algorithm does it use to encrypt it?", [H("How do I get the Secret class's value?")])
    assert rw.standalone == "Which algorithm does the Secret class use to encrypt the Secret class's value?"


@pytest.mark.unit
def test_a_model_rewrite_that_only_repeats_an_earlier_question_is_refused():
    history = [HistoryTurn("Which countries signed the accord in 2019?",
                           "France and Chile\n\nFrance and Chile signed.")]
    assert not acceptable("Which countries signed the accord in 2019?", "Of what?", history)  # the earlier question
    assert not acceptable("Which countries signed the accord?", "Of what?", history)  # only its words
    assert not acceptable("Did France sign the accord?\nYes.", "Did France sign?", history)  # not one question
    assert acceptable("Did France sign the accord in 2019?", "Did France sign it?", history)  # adds from the history
