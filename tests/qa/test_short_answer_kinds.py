"""Short answers by kind, with the real spaCy model: the slot a wh-phrase fills, "what kind of", reported clauses,
places, actions, descriptions; and on developer docs: inline-code values, list items' names, lists, documented
boolean defaults, negated sentences and "A or B" alternatives. The phrase is always a slice of a quote."""

import pytest

from index.linguistics import default_annotator
from qa.short_answer import _alternatives, short_answer

pytestmark = pytest.mark.integration

VOTE = ("On the same day, the UN General Assembly adopted a resolution condemning Russia’s invasion of Ukraine, "
        "despite the US voting against it and urging other nations to follow suit.")
ABSTAIN = "The US ultimately chose to abstain from the final vote on its own resolution."
ECON = ("Donald Trump indicated that the US is willing to negotiate an “economic” agreement with Russia as part of a "
        "significant shift in Washington’s approach to Moscow, stating that the two nations have engaged in “very "
        "constructive discussions” aimed at resolving the conflict in Ukraine.")
MACRON = ("During a press conference following their discussions, Macron stated that Trump has “valid reasons” to "
          "reconnect with Putin over the conflict, while noting that Europeans are “fully aware” they must enhance "
          "their contributions to European security.")
EARLIER = ("Earlier this month, the US president surprised European leaders by advocating for a swift peace agreement "
           "through direct negotiations with Moscow.")
REMARKS = ("The remarks from the US president, made during a meeting with French President Emmanuel Macron in the "
           "Oval Office, coincided with the third anniversary of the onset of a conflict.")
GZIP = ("`compresslevel` - Used during GZip compression. It is an integer ranging from 1 to 9. Defaults to `9`. "
        "Lower value results in faster compression but larger file sizes.")
LAYERS = ("`ServerErrorMiddleware` - Ensures that application exceptions may return a custom 500 page. "
          "This is *always* the outermost middleware layer.")
FILES = "File responses will include appropriate `Content-Length`, `Last-Modified` and `ETag` headers."
PARAMS = "The `params` argument is not supported by `websocket_connect`."
SYMLINK = ("`follow_symlink` - A boolean indicating if symbolic links for files and directories should be followed. "
           "Defaults to `False`.")


@pytest.mark.parametrize("question, quote, want", [
    ("Which body adopted a resolution condemning Russia's invasion of Ukraine?", VOTE, "UN General Assembly"),
    ("What kind of agreement is the US willing to negotiate with Russia?", ECON, "economic"),
    ("According to Macron, what must Europeans enhance?", MACRON, "their contributions to European security"),
    ("What does Macron say Trump has for reconnecting with Putin?", MACRON, "valid reasons"),
    ("Whom did the US president surprise earlier this month?", EARLIER, "European leaders"),
    ("What did Trump advocate for earlier this month?", EARLIER, "a swift peace agreement"),
    ("Where did Trump meet Macron?", REMARKS, "Oval Office"),
    ("Who did Trump meet in the Oval Office?", REMARKS, "Emmanuel Macron"),
    ("How did Trump describe the discussions with Russia?", ECON, "very constructive"),
])
def test_the_phrase_that_fills_the_asked_slot(question, quote, want):
    got = short_answer(question, [quote])
    assert got and want in got and got in quote, got
    assert len(got.split()) <= len(want.split()) + 3, got  # the phrase, not the clause around it


def test_an_action_is_the_verb_without_what_the_question_already_says():
    assert short_answer("What did Washington do when its own resolution came to the final vote?", [ABSTAIN]) == "abstain"


@pytest.mark.parametrize("question, quote, want", [
    ("What compression level does GZip use by default?", GZIP, "9"),  # the value, not the item's name
    ("Which built-in middleware is always the outermost layer?", LAYERS, "ServerErrorMiddleware"),  # the name holds it
    ("Which caching headers does FileResponse add?", FILES, "`Content-Length`, `Last-Modified` and `ETag`"),
])
def test_inline_code_values_and_names(question, quote, want):
    assert short_answer(question, [quote]) == want


def test_code_the_question_names_is_not_its_answer():
    got = short_answer("Which value does `compresslevel` take by default?", [GZIP])
    assert got == "9"


@pytest.mark.parametrize("question, quote, want", [
    ("Can I pass params= to websocket_connect in the test client?", PARAMS, "No"),  # negated where the question is not
    ("StaticFiles follow symlinks by default?", [SYMLINK], "No"),  # a documented boolean default
    ("Does Config raise or warn when the env file is missing?",
     "Config will warn instead of raise when the env file is missing.", "warn"),
    ("Is the copy shallow or deep?", "The copy is shallow, so nested objects are shared.", "shallow"),
])
def test_yes_no_and_alternatives(question, quote, want):
    quotes = quote if isinstance(quote, list) else [quote]
    assert short_answer(question, quotes) == want


def test_word_overlap_alone_never_says_yes():
    got = short_answer("Is it fine to raise HTTPException from inside a middleware class?",
                       ["You should only raise `HTTPException` inside routing or endpoints."])
    assert got != "Yes"


def test_events_and_named_alternatives_are_left_alone():
    assert short_answer("What happens when the first background task raises?",
                        ["If a task raises, `BackgroundTasks` stops and the remaining tasks do not run."]) is None
    ann = default_annotator().annotate("Which band was formed first, Blur or Oasis?")
    assert _alternatives(ann) is None  # a comparison between named things: qa/compare.py's


def test_a_short_answer_never_cuts_an_inline_code_span():
    """The parser's noun chunk can start after a backtick ("env_prefix` argument"); the phrase keeps the code whole
    and stays a slice of its quote."""
    from qa.short_answer import _whole_code

    quote = "You can namespace the environment variables by setting `env_prefix` argument."
    assert _whole_code("env_prefix` argument", [quote]) == "`env_prefix` argument"
    assert _whole_code("setting `env_prefix", [quote]) == "setting `env_prefix`"
    for phrase in ("`env_prefix` argument", "namespace"):
        assert _whole_code(phrase, [quote]) == phrase
    assert short_answer("What can I set to namespace the environment variables?", [quote]) == "`env_prefix` argument"


def test_a_date_answers_only_from_a_quote_telling_the_asked_event():
    """"When was X broadcast?": a date in a quote about X that never tells the broadcast is no answer (the
    on-topic passage lacks it: a question to refuse, not one to answer with the war's start)."""
    q = "When was the Vietnam War first broadcast on television?"
    assert short_answer(q, ["The Vietnam War began in November 1955 and ended in April 1975."]) is None
    found = short_answer(q, ["The Vietnam War was first broadcast on television in 1965, by CBS."])
    assert found == "1965"


@pytest.mark.parametrize("question, quote", [
    # the parse gives the question's clause no triple, its slot still has the verb: a quote never telling a test is
    # no answer to what a test is for
    ("what does the cell free dna test for",
     "During interphase, the cell grows, accumulating nutrients needed for mitosis and duplicating its DNA."),
    # a lower-cased question names "game of thrones" with nouns; the quote's name "Thrones" is what it asks about,
    # not who the main character is
    ("who is main character in game of thrones",
     "He began the first volume of the series, A Game of Thrones, in 1991 and had it published in 1996."),
])
def test_no_short_answer_from_a_quote_that_does_not_tell_the_asked_thing(question, quote):
    assert short_answer(question, [quote]) is None
