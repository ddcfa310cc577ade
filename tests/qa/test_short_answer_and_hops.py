"""Answers that lead with the answer, and multi-hop retrieval, with the real parts: spaCy's en_core_web_sm,
the shipped embedding model and Chroma on disk."""

import pytest

from qa.short_answer import short_answer
from tests.conftest import SEED_FILE

pytestmark = pytest.mark.integration

SEED = SEED_FILE.read_text(encoding="utf-8")
VOTE = ("On the same day, the UN General Assembly adopted a resolution condemning Russia’s invasion of Ukraine, "
        "despite the US voting against it and urging other nations to follow suit.")
ABSTAIN = "The US ultimately chose to abstain from the final vote on its own resolution."
OPPOSE = "Trump noted that Putin would likely not oppose a European peacekeeping force in Ukraine once hostilities cease."


def test_the_quotes_are_the_seed_article_s():
    assert all(q in SEED for q in (VOTE, ABSTAIN, OPPOSE))


@pytest.mark.parametrize("question, quote, want", [
    ("How did the US vote?", VOTE, "against"),
    ("What did the US do in the final vote on its own resolution?", ABSTAIN, "abstain"),
    ("Who adopted the resolution?", VOTE, "General Assembly"),
    ("What did Trump say Putin would not oppose?", OPPOSE, "peacekeeping force"),
])
def test_short_answer_is_a_phrase_of_the_quote(question, quote, want):
    got = short_answer(question, [quote])
    assert got and want in got and got in quote


@pytest.mark.parametrize("question, quote, want", [
    ("Did the US vote against the resolution?", VOTE, "Yes"),
    ("Would Putin oppose a European peacekeeping force?", OPPOSE, "No"),
])
def test_polar_questions_get_yes_or_no(question, quote, want):
    assert short_answer(question, [quote]) == want


def test_explanations_get_no_short_answer():
    assert short_answer("Why did the US change its resolution?", [ABSTAIN]) is None
    assert short_answer("How did the US vote?", []) is None


def test_short_answer_on_the_real_service(real_service):
    a = real_service.ask("How did the US vote?", generator="extractive")
    assert not a.refused and a.short_answer and "against" in a.short_answer
    assert any(a.short_answer in c.quote for c in a.citations)
    assert a.to_dict()["short_answer"] == a.short_answer


def ask_over(tmp_path, files: dict[str, str], question: str):
    """The real extractive service over small documents the test writes; the answer to `question` (top_k 1)."""
    import qa

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text + "\n")
    service = qa.open(home=tmp_path / "home", generator="extractive")
    service.ingest([docs])
    return docs, service.ask(question, top_k=1)


def test_two_hop_question_cites_one_quote_per_hop(tmp_path):
    docs, a = ask_over(tmp_path, {
        "film.txt": "Cujo is a 1983 American horror film. The film was shot in Leland, North Carolina, over the "
                    "summer of 1982.",
        "teague.txt": "Cujo was directed by Lewis Teague, who also directed Cat's Eye and The Jewel of the Nile.",
        "other.txt": "Leland is a town in Brunswick County, North Carolina, United States. Its population was 13,527 "
                     "at the 2010 census.",
    }, "Who directed the film that was shot in Leland, North Carolina?")
    assert not a.refused, a.to_dict()
    assert len(a.hops) >= 2 and any(h["bridge"] for h in a.hops[1:])
    sources = {c.source.rsplit("/", 1)[-1] for c in a.citations}
    assert {"film.txt", "teague.txt"} <= sources, a.to_dict()
    assert "Lewis Teague" in a.answer
    for c in a.citations:
        assert (docs / c.source.rsplit("/", 1)[-1]).read_text()[c.start:c.end] == c.quote


def test_a_relative_clause_the_parser_hung_further_back_still_describes_the_noun_before_it():
    from index.linguistics import default_annotator
    from qa.hops import descriptions

    q = "What is the name of the waterfall in the country where the Bubye River is found?"
    found = [q[s:e] for s, e, _ in descriptions(default_annotator().annotate(q))]
    assert found[0] == "the country where the Bubye River is found"  # innermost first: the hop to resolve first
    assert all("Bubye River" in d for d in found)



def test_yes_only_when_a_quote_tells_the_asked_relation_itself():
    # the quote has the resolution and the condemning, but the US voted against it: "Yes" would invert it
    quote = ("On the same day, the UN General Assembly adopted a resolution condemning Russia’s invasion of Ukraine, "
             "despite the US voting against it and urging other nations to follow suit.")
    assert short_answer("Did America back the General Assembly text denouncing Moscow's invasion?", [quote]) != "Yes"
    assert short_answer("Did the UN General Assembly adopt a resolution condemning Russia's invasion?", [quote]) == "Yes"


def test_a_place_named_by_its_kind_bridges_a_description_that_does_not_repeat_the_kind():
    """"the country where Buyende is located": the passage says "Buyende is a town in ... Uganda" without the words
    "country" or "located"; a GPE entity in the sentence says what "country" describes -- but only for a noun that
    surely names a kind of place (not "one", "text": the seed's "the one condemning Russia" takes no such bridge)."""
    from index.linguistics import default_annotator
    from qa.answers import Passage
    from qa.hops import BRIDGE_LABELS, bridges

    ann = default_annotator()
    text = "Buyende is a town in the Eastern Region of Uganda. It is the main municipal centre of Buyende District."
    found = [(Passage(1, "b1", "d1", "Buyende", text, 0, len(text), 0.9, title="Buyende"), ann.annotate(text))]
    description = ann.annotate("the country where Buyende is located")
    assert bridges(description, found, 1, BRIDGE_LABELS) == []  # one word of three said: not enough on its own
    assert bridges(description, found, 1, ("GPE", "LOC", "PERSON"), kind="GPE") == ["Uganda"]


def test_a_description_never_holds_the_question_s_main_verb():
    """Replacing "does html=True change for StaticFiles?" by a bridge leaves no question ("What Starlette"): a
    description is a noun phrase the question's verb is about, never the verb itself."""
    from index.linguistics import default_annotator
    from qa.hops import _holds_root, descriptions

    ann = default_annotator()
    q = "What does html=True change for StaticFiles?"  # the parser takes "change" for a noun, the question's root
    a = ann.annotate(q)
    assert descriptions(a) and not [q[s:e] for s, e, _ in descriptions(a) if not _holds_root(a, (s, e))]
    a = ann.annotate("Who directed the film that was shot in Leland, North Carolina in 1986?")
    kept = [a.text[s:e] for s, e, _ in descriptions(a) if not _holds_root(a, (s, e))]
    assert kept and kept[0].startswith("the film that was shot in Leland")


@pytest.mark.parametrize("question, quote", [
    ("What does html=True change for StaticFiles?",
     "Starlette also includes a `StaticFiles` class for serving files in a given directory:"),
    ("Which Starlette release switched TestClient from requests to httpx?",
     "This release replaces the underlying HTTP client used on the `TestClient` (`requests` :arrow_right: `httpx`)."),
])
def test_a_short_answer_never_just_repeats_the_question(question, quote):
    assert short_answer(question, [quote]) is None


@pytest.mark.parametrize("question, asks", [
    ("What happens when I call send_denial_response on a server without the extension?", False),
    ("I looped over request.stream() and then called await request.json(). What happens?", False),
    ("What changed in version 0.21?", False),
    ("What causes the lunar phases?", True),
    ("What did the US do in the final vote on its own resolution?", True),
    ("What is the default timeout?", True),
])
def test_what_happens_asks_for_an_event_not_a_thing(question, asks):
    from qa.short_answer import asks_for_thing

    assert asks_for_thing(question) is asks


@pytest.mark.parametrize("phrase, cut", [
    ("websocket.close(code=1000", True),
    ("[#2214](https://github.com/encode/starlette/pull/2214)", True),
    ("async def dispatch(request, call_next)", False),
    ("`500` and `Exception`", False),
])
def test_a_short_answer_is_never_cut_out_of_its_brackets_nor_a_link(phrase, cut):
    from qa.short_answer import _cut

    assert _cut(phrase) is cut


def test_a_rare_name_the_embedding_misses_is_looked_up_by_keyword(tmp_path):
    """"the country containing Nugegoda": hybrid retrieval ranks passages like the description ("Africa contains 54
    countries") above the one suburb page naming Nugegoda; the keyword lookup of the description's proper nouns
    (`hop_names`) finds it, and its country becomes the bridge."""
    import qa
    from qa.answers import Passage
    from qa.hops import multi_hop

    encode = qa.open(home=tmp_path / "home", generator="extractive").grounder.encode  # the real embedding model

    def passage(n, title, text):
        return Passage(n, f"c-{title}", f"d-{title}", title, text, 0, len(text), 0.5, title=title)

    africa = passage(1, "Africa", "Africa contains 54 fully recognised sovereign states (countries) and nine territories.")
    suburb = passage(1, "Kohuwala", "Kohuwala is a suburb in Sri Lanka and is connected to Nugegoda.")
    independence = passage(1, "Sri Lankan independence movement", "The Sri Lankan independence movement succeeded "
                           "when, on February 4, 1948, Sri Lanka left the British Empire.")
    looked_up = []

    def retrieve(query, n):
        return [independence] if "Sri Lanka" in query else [africa]

    def lookup(query, n):
        looked_up.append(query)
        return [suburb] if "nugegoda" in query.lower() else []

    question = "When did the country containing Nugegoda leave the British Empire?"
    passages, hops = multi_hop(question, [africa], retrieve, lookup=lookup, encode=encode)
    assert looked_up == ["nugegoda"]
    assert [h.bridge for h in hops[1:]] == ["Sri Lanka", "Sri Lanka"]
    assert hops[-1].query == "When did Sri Lanka leave the British Empire?"
    assert {p.title for p in passages} == {"Africa", "Kohuwala", "Sri Lankan independence movement"}
    _, without = multi_hop(question, [africa], retrieve, encode=encode)  # no lookup: nothing names Nugegoda, nothing to bridge
    assert len(without) == 1


@pytest.mark.parametrize("question, clause", [
    ("What currency predated the Euro in the country Signmark is from?", "the country Signmark is from"),
    ("What river flows through the city Kevin Durant played for before Golden State?",
     "the city Kevin Durant played for before Golden State"),
    ("The Consulate General of the United States, in the city Sarah Sorge was born, is located in what territory?",
     "the city Sarah Sorge was born"),
    ("Who governs the state the Battle of Mine Creek was fought?", "the state the Battle of Mine Creek was fought"),
    ("What year did the company Novair International Airways is part of dissolve?",
     "the company Novair International Airways is part of"),
    ("When was the film Cujo released?", None),  # "was" waits for "released": the question's own verb
    ("Did the band Queen release an album in 1980?", None),
    ("Who directed the film Cujo?", None),
])
def test_a_relative_clause_without_a_relative_word_is_a_description(question, clause):
    """"the country Signmark is from": the parser seldom reads a contact clause as one (it made "is" the root);
    read from the tags, it is a description multi-hop resolves ("What currency predated the Euro in Finland?")."""
    from index.linguistics import default_annotator
    from qa.hops import contact_clauses, descriptions, nested

    ann = default_annotator().annotate(question)
    found = [question[s:e] for s, e, _ in contact_clauses(ann)]
    assert found == ([clause] if clause else [])
    if clause:
        assert nested(ann) and clause in [question[s:e] for s, e, _ in descriptions(ann)]


def test_a_contact_clause_question_is_answered_hop_by_hop(tmp_path):
    """The real service: "the country Signmark is from" resolves to Finland through the Signmark page, and the
    question asked again about Finland finds the markka; one quote per hop."""
    _, a = ask_over(tmp_path, {
        "signmark.txt": "Signmark is a deaf rapper. Signmark was one of the artists competing in Finland's national "
                        "qualifications for the 2009 Eurovision Song Contest.",
        "markka.txt": "The markka was the currency of Finland from 1860 until 2002, when it was replaced by the euro.",
        "peseta.txt": "The peseta was the currency of Spain until 2002, when it was replaced by the euro.",
    }, "What currency predated the Euro in the country Signmark is from?")
    assert not a.refused, a.to_dict()
    assert any(h["bridge"] == "Finland" for h in a.hops)
    assert {"signmark.txt", "markka.txt"} <= {c.source.rsplit("/", 1)[-1] for c in a.citations}, a.to_dict()
    assert "markka" in a.answer and "peseta" not in a.answer


def test_a_place_whose_own_words_say_another_kind_is_not_the_described_place():
    """"the country Ceelmakoile is located in": "the central Hiran region of Somalia" names a region first; the
    words around a place name say its kind, so Somalia, not Hiran, is the country -- and "Maharashtra state" the
    state of "Ratnagiri district, Konkan, Maharashtra state, India"."""
    from index.linguistics import default_annotator
    from qa.answers import Passage
    from qa.hops import bridges

    ann = default_annotator()

    def found(text):
        return [(Passage(1, "c", "d", "s", text, 0, len(text), 0.5, title="s"), ann.annotate(text))]

    labels = ("GPE", "LOC", "FAC", "ORG", "PERSON")
    somalia = found("Ceelmakoile is a town in the central Hiran region of Somalia.")
    assert bridges(ann.annotate("the country Ceelmakoile is located in"), somalia, 1, labels, kind="GPE") == ["Somalia"]
    india = found("Shringarpur is a small village in Ratnagiri district, Konkan, Maharashtra state, India.")
    assert bridges(ann.annotate("the state where Shringarpur is located"), india, 1, labels, kind="GPE") == \
        ["Maharashtra state"]


def test_a_bridge_steps_out_along_a_chain_of_places_to_the_described_kind(tmp_path):
    """"the country containing Nugegoda" / "a suburb in Colombo, Sri Lanka": the place after a comma holds the one
    before; the bridge steps out to Sri Lanka (clearly more like "a country" by the embedding), while "the city where
    X was born" / "born in Salt Lake City, Utah Territory" stays with the city."""
    import qa
    from index.linguistics import default_annotator
    from qa.answers import Passage
    from qa.hops import bridges

    encode = qa.open(home=tmp_path / "home", generator="extractive").grounder.encode
    ann = default_annotator()

    def found(text):
        return [(Passage(1, "c", "d", "s", text, 0, len(text), 0.5, title="s"), ann.annotate(text))]

    labels = ("GPE", "LOC", "FAC", "ORG", "PERSON")
    suburb = found("Kohuwala is a suburb in Colombo, Sri Lanka and is connected to Nugegoda.")
    country = ann.annotate("the country containing Nugegoda")
    assert bridges(country, suburb, 1, labels, kind="GPE") == ["Colombo"]  # without the embedding: the first place
    assert bridges(country, suburb, 1, labels, kind="GPE", encode=encode) == ["Sri Lanka"]
    born = found("Born in Salt Lake City, Utah Territory, Taylor was the son of Thomas E. Taylor.")
    city = ann.annotate("the city where Taylor was born")
    assert bridges(city, born, 1, labels, kind="GPE", encode=encode) == ["Salt Lake City"]


@pytest.mark.parametrize("phrase, tidy", [
    ("valid reasons” to", "valid reasons"),  # the parser's chunk ran past the quote into "to reconnect"
    ("2 weeks.", "2 weeks"),
    ("the third anniversary", "the third anniversary"),
    ("`max_age`", "`max_age`"),
    ("March 1761)", "March 1761)"),  # brackets are left to `_cut`
])
def test_a_short_answer_never_ends_in_a_word_that_leads_on(phrase, tidy):
    from index.linguistics import default_annotator
    from qa.short_answer import _tidy

    assert _tidy(phrase, default_annotator()) == tidy


def test_the_short_answer_from_a_quoted_phrase_is_tidy():
    from qa.short_answer import short_answer

    quote = ("During a press conference following their discussions, Macron stated that Trump has “valid reasons” to "
             "reconnect with Putin over the conflict.")
    assert short_answer("What does Macron say Trump has for reconnecting with Putin?", [quote]) == "valid reasons"


@pytest.mark.parametrize("question, phrase, other", [
    ("What currency predated the Euro in Finland?", "currency code", True),  # a code, not a currency
    ("What currency predated the Euro in Finland?", "The Finnish markka", False),
    ("Which river flows through Oklahoma City?", "the North Canadian River", False),
    ("Which anniversary did the meeting coincide with?", "the third anniversary", False),
])
def test_a_short_answer_names_the_kind_asked_for_not_a_thing_it_modifies(question, phrase, other):
    from index.linguistics import default_annotator
    from qa.short_answer import _other_kind

    assert _other_kind(phrase, question, default_annotator()) is other


def test_a_person_the_tagger_does_not_call_a_proper_noun_is_no_answer():
    """spaCy's recogniser calls "drang" (of "sturm und drang") a PERSON; the tagger calls it a common noun. A
    who-question gets no short answer from it rather than a wrong one."""
    from qa.short_answer import short_answer

    quote = ("Hall, who was the first president of the American Psychological Association, viewed adolescence "
             "primarily as a time of internal turmoil and upheaval (sturm und drang).")
    assert short_answer("Who was the first president of the American Psychological Association?", [quote]) != "drang"


def test_a_name_written_without_its_accents_still_bridges(tmp_path):
    docs, a = ask_over(tmp_path, {
        "ballet.txt": "Zéphyrine is a ballet in two acts. Zéphyrine was written by Anton Lindqvist for the Royal "
                      "Swedish Opera.",
        "lindqvist.txt": "Anton Lindqvist was born in Uppsala in 1850. He studied the violin in Leipzig.",
        "other.txt": "Uppsala is a city in Sweden, north of Stockholm. Its cathedral is the largest in Scandinavia.",
    }, "Where was the composer of Zephyrine born?")  # as users type it: no accent
    assert not a.refused, a.to_dict()
    assert any(h["bridge"] and "Lindqvist" in h["bridge"] for h in a.hops[1:]), a.hops
    assert "Uppsala" in a.answer


@pytest.mark.parametrize("question, quote, want", [
    ("Which hook runs first during initialization?",
     "`__attrs_pre_init__` is automatically detected and run *before* *attrs* starts initializing.", "__attrs_pre_init__"),
    ("Which method do I call to build a URL?", "Call ``request.url_for`` with the route name.", "request.url_for"),
])
def test_a_short_answer_never_cuts_an_identifier_in_a_code_span(question, quote, want):
    assert short_answer(question, [quote]) == want


def test_a_description_never_resolves_to_a_name_the_question_already_gives(tmp_path):
    docs, a = ask_over(tmp_path, {
        "talks.txt": "Mayor Alice Brown met the managers of Acme Steel on Monday. Brown called the talks with Acme "
                     "Steel very productive, and a second meeting is planned for May.",
        "other.txt": "Acme Steel employs 400 people at its plant on the river. The plant opened in 1962.",
    }, "How did Brown describe the talks with Acme Steel?")
    assert not any(h["bridge"] and "Brown" in h["bridge"] for h in a.hops), a.hops  # not "How did Brown describe Alice Brown?"
    assert not a.refused and "very productive" in a.answer, a.to_dict()


@pytest.mark.parametrize("question, quote, want", [
    ("What is the default compression level of GZipMiddleware?",
     "* `compresslevel` - Used during GZip compression. It is an integer ranging from 1 to 9. Defaults to `9`.", "9"),
    ("What is the default value of max_age?",
     "* `max_age` - Sets a maximum time in seconds for browsers to cache CORS responses. Defaults to `600`.", "600"),
])
def test_what_is_the_default_x_gets_the_value_not_a_name(question, quote, want):
    assert short_answer(question, [quote]) == want


def test_the_default_of_another_setting_is_no_answer():
    quote = 'By default, the TestClient will set the client host to `"testserver"` and the port to `50000`.'
    assert short_answer("What's the default request timeout of TestClient?", [quote]) is None  # the port is not it


@pytest.mark.parametrize("text, name, code", [
    ("The websocket URL is accessed as `websocket.url`.", "websocket.url", True),
    ("The response will be a `206 Partial Content` response.", "Partial Content", True),  # inside a code span
    ("See the sentry-python project.", "python", True),  # no capital: a word, not a name
    ("Cujo is a 1983 American horror film.", "Cujo", False),
    ("Johnnycake is a community in McDowell County, West Virginia.", "McDowell County", False),
])
def test_a_bridge_is_a_name_never_code(text, name, code):
    from qa.hops import _code_like

    assert _code_like(text, name, 0, len(text)) is code


@pytest.mark.parametrize("question, quote, want", [
    ("How many uploaded files does request.form() allow per request by default?",
     "Signature: `request.form(max_files=1000, max_fields=1000, max_part_size=1024*1024)`", "1000"),
    ("What is the default max part size of request.form()?",
     "Signature: `request.form(max_files=1000, max_fields=1000, max_part_size=1024*1024)`", "1024*1024"),
    ("What's the default max_part_size when parsing multipart forms?",  # all of the setting's words, not just `max`
     "Signature: `request.form(max_files=1000, max_fields=1000, max_part_size=1024*1024)`", "1024*1024"),
])
def test_a_signature_s_keyword_default_answers_for_the_keyword_the_question_names(question, quote, want):
    assert short_answer(question, [quote]) == want


def test_a_keyword_the_question_does_not_name_gives_no_default():
    quote = "Signature: `request.form(max_files=1000, max_fields=1000)`"
    assert short_answer("How many seconds does request.form() wait by default?", [quote]) is None


@pytest.mark.parametrize("question, asks", [
    ("starlette version that dropped python 3.8?", True),
    ("Which version got rid of GraphQLApp?", True),
    ("What release removed GraphQLApp?", True),
    ("What version of Python does Starlette require?", False),  # a version of something else
    ("How do I check the version of a package?", False),
])
def test_a_question_asks_for_a_release_by_its_parse(question, asks):
    from qa.short_answer import asks_version

    assert asks_version(question) is asks


def test_which_version_is_answered_by_the_changelog_heading_of_the_cited_entry(tmp_path):
    _, a = ask_over(tmp_path, {
        "release-notes.md": "# Release Notes\n\n## 2.1.0 (May 3, 2025)\n\n### Removed\n\n"
                            "* Drop support for Python 3.8.\n\n## 2.0.0 (January 9, 2025)\n\n### Added\n\n"
                            "* Add the `partitioned` option to cookies.\n* Add a `timeout` argument to the client.\n",
    }, "Which version dropped support for Python 3.8?")
    assert not a.refused and a.short_answer == "2.1.0", a.to_dict()
    assert a.citations and "Python 3.8" in a.citations[0].quote


def test_a_release_is_a_number_never_an_identifier(tmp_path):
    import qa

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "api.md").write_text("# API\n\n## Deprecated APIs\n\nThe module has a `__version_info__` attribute, to "
                                 "help you write backward compatible code.\n")
    service = qa.open(home=tmp_path / "home", generator="extractive")
    service.ingest([docs])
    question = "Which version dropped support for Python 2.6?"
    passages = service.retriever.retrieve(question, "default", 1)
    evidence = service.grounder.evidence(passages)
    p = passages[0]
    at = p.text.index("The module")
    quote = (p.text[at:], p.n, p.start + at)
    assert short_answer(question, [quote[0]]) == "__version_info__"  # what the code-span reading alone would say
    assert service.grounder.lead(question, evidence, [quote]) is None  # no release number, no version heading
