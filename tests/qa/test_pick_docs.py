"""Extractive picking on technical Markdown docs (qa/grounding.py `Grounder.pick`): the real loader, chunker,
embedding model and Chroma on documents the test writes; the heuristics `section_context`, `changelog`,
`rarity` and `second_adds` (qa/decisions.py) switched on and off."""

from __future__ import annotations

import pytest

import qa
from tests.index.test_rst_myst import RST

pytestmark = pytest.mark.integration

MIDDLEWARE = """# Middleware

## SessionMiddleware

Adds signed cookie-based HTTP sessions. Session data is readable but not modifiable.

* `secret_key` - Should be a random string.
* `session_cookie` - Defaults to "session".
* `max_age` - Session expiry time in seconds. Defaults to 2 weeks. If set to `None` then the cookie will last as long as the browser session.
* `path` - The path set for the session cookie. Defaults to `'/'`.

## GZipMiddleware

Handles GZip responses for any request that includes "gzip" in the Accept-Encoding header.
"""

RESPONSES = """# Responses

## PlainTextResponse

Takes some text or bytes and returns a plain text response. Uses a 200 status code by default.

## RedirectResponse

Returns an HTTP redirect. Uses a 307 status code by default.

## StreamingResponse

Takes an async generator or a normal generator/iterator and streams the response body.
"""

STATIC = """# Static Files

Starlette also includes a `StaticFiles` class for serving files in a given directory.

## StaticFiles

* `directory` - A string or os.PathLike denoting a directory path.
* `follow_symlink` - A boolean indicating if symbolic links for files and directories should be followed. Defaults to `False`.
* `check_dir` - Ensure that the directory exists upon instantiation. Defaults to `True`.
"""

RELEASES = """# Release Notes

## 0.20.2 (June 7, 2022)

### Fixed

* Allow `StaticFiles` to follow symlinks [#1337](https://github.com/encode/starlette/pull/1377).
* Fix the session cookie being sent with the wrong path.

## 0.20.1 (May 28, 2022)

### Fixed

* Improve detection of async endpoints.
"""


@pytest.fixture(scope="module")
def docs_service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    for name, text in (("middleware.md", MIDDLEWARE), ("responses.md", RESPONSES), ("staticfiles.md", STATIC),
                       ("release-notes.md", RELEASES)):
        (folder / name).write_text(text)
    service = qa.open(home=tmp_path_factory.mktemp("home"), generator="extractive")
    service.ingest([str(folder)], collection="docs")
    return service


def picked(service, question: str, without: str = "") -> list[tuple[str, str]]:
    """(file name, quote) of what the extractive answer picks from the retrieved passages, refusal aside."""
    s = service.variant(without=without) if without else service
    passages, _, _ = s._retrieve(question, "docs", 4)
    evidence = s.grounder.evidence(passages)
    return [(evidence.passage(x.passage).source.rsplit("/", 1)[-1], x.text)
            for x in s.grounder.pick(question, evidence, quoting=True)]


def test_a_sentence_is_read_under_the_heading_it_belongs_to(docs_service):
    q = "RedirectResponse - which status code if I don't pass one?"
    [(source, quote)] = picked(docs_service, q)  # one quote answers
    assert source == "responses.md" and quote == "Uses a 307 status code by default."
    without = picked(docs_service, q, "section_context")
    assert [quote for _, quote in without] != ["Uses a 307 status code by default."]  # the 200 of another class


def test_a_changelog_entry_answers_only_questions_about_versions(docs_service):
    [(source, quote)] = picked(docs_service, "StaticFiles follow symlinks by default?")
    assert source == "staticfiles.md" and "Defaults to `False`" in quote
    versions = picked(docs_service, "Which version allowed StaticFiles to follow symlinks?")
    assert versions[0][0] == "release-notes.md" and "follow symlinks" in versions[0][1]
    without = picked(docs_service, "StaticFiles follow symlinks by default?", "changelog")
    assert any(source == "release-notes.md" for source, _ in without)


def test_sphinx_docs_answer_with_section_and_whole_code(tmp_path):
    """The real service over an RST file: the answer quotes the description under its documented object, with that
    object in the citation's section, and a literal block is cited whole, never as prose."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "config.rst").write_text(RST, encoding="utf-8")
    service = qa.open(home=tmp_path / "home", generator="extractive")
    service.ingest([str(tmp_path / "docs")])
    answer = service.ask("What is the SECRET_KEY used for?")
    assert not answer.refused
    assert any("signing the session cookie" in c.quote and c.section.endswith("SECRET_KEY") for c in answer.citations)
    text = (tmp_path / "docs" / "config.rst").read_text(encoding="utf-8")
    cites = service.ask("How do I set TESTING in the app config?").citations
    assert [c.quote for c in cites] == ["app = Flask(__name__)\n    app.config['TESTING'] = True"]  # the block, whole
    assert all(text[c.start : c.end] == c.quote for c in cites)


def test_a_sentence_naming_the_kind_of_thing_asked_for_is_picked(tmp_path):
    """`answer_type`: "Who is the current opposition leader in Uganda?" -- the sentences about the office share
    more words with the question; the one naming a person (spaCy NER) answers it."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "uganda.txt").write_text(
        "The Leader of the Opposition in Uganda is the title of the leader of the largest party not in government. "
        "The office of the Leader of the Opposition in Uganda was created in 2006. "
        "The current Leader of the Opposition is Winnie Kiiza of the Forum for Democratic Change.\n")
    service = qa.open(home=tmp_path / "home", generator="extractive")
    service.ingest([str(folder)], collection="docs")
    q = "Who is the current opposition leader in Uganda?"
    assert "Winnie Kiiza" in picked(service, q)[0][1]
    assert "Winnie Kiiza" not in picked(service, q, "answer_type")[0][1]  # without the unit: an office sentence first
