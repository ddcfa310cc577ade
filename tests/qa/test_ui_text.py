"""The chat shows document text as text: quoted code and Markdown/HTML in documents are escaped, not rendered."""

import pytest

from qa.answers import Answer, SentenceReport
from qa.ui import answer_markdown, as_text

pytestmark = pytest.mark.unit


def test_markdown_and_html_in_quotes_are_escaped():
    out = as_text("# not a heading\nif __name__ == '__main__':\n<img src=\"http://tracker.example/x.png\"> [1]")
    assert out.startswith("\\# not a heading")
    assert "\\_\\_name\\_\\_" in out and "\\<img" in out and "<img" not in out.replace("\\<img", "")
    assert out.count("  \n") == 2  # line breaks kept


def test_answer_leads_with_the_short_answer_and_never_shows_fragments():
    a = Answer(question="How did the US vote?", answer="The US voted against it [1].", refused=False, citations=[],
               generator="local", timings_ms={}, short_answer="against it",
               sentences=[SentenceReport("The US voted against it.", [1], 1.0, True, True, "supported"),
                          SentenceReport("1. 2. 3.", [], 0.0, False, True, "not_found")])
    md = answer_markdown(a)
    assert md.startswith("**against it**")
    assert "Removed 1 sentence" in md and "1. 2. 3." not in md
