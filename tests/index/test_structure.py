"""Structure-aware loading and chunking (index/structure.py): units of Markdown, HTML and plain text with exact
offsets, section paths on chunks, code kept whole, identifiers searchable."""

from __future__ import annotations

import pytest

from index.chunking import chunk_document, sentence_spans
from index.documents import Chunk, Document
from index.loaders import load
from index.manifest import Change, Manifest
from index.structure import document_units, identifier_words, prose_spans, text_units, units

pytestmark = pytest.mark.unit

MARKDOWN = """---
title: Front matter is skipped
---

# Middleware

Starlette includes several middleware classes. They wrap the application.

<!-- a comment the reader never sees -->

## CORSMiddleware

Adds CORS headers to outgoing responses.
The defaults are restrictive,
so you need to enable origins explicitly.

To enable CORS, add the middleware:

```python
from starlette.middleware.cors import CORSMiddleware

middleware = [Middleware(CORSMiddleware, allow_origins=["*"])]
```

The following arguments are supported:

* `allow_origins` - A list of origins that should be permitted.
* `allow_methods` - A list of HTTP methods that should be allowed.

| Argument | Default |
|----------|---------|
| allow_origins | () |
| max_age | 600 |

!!! note
    The middleware must be added before routing.
    It applies to every route.

> Quoted wisdom. Second quoted sentence.

    indented_code = True

### Enabling HTTP/2

HTTP/2 does not change the API
"""


def md_doc(tmp_path, text=MARKDOWN, name="middleware.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load(path), text


def by_text(doc):
    return {doc.text[u.start : u.end]: u for u in document_units(doc)}


def test_markdown_units_are_exact_slices_with_kinds_and_sections(tmp_path):
    doc, raw = md_doc(tmp_path)
    assert doc.text == raw  # the raw file text, unchanged
    us = document_units(doc)
    for u in us:
        assert doc.text[u.start : u.end] == doc.text[u.start : u.end].strip() != ""
    for a, b in zip(us, us[1:]):
        assert a.end <= b.start
    got = by_text(doc)
    assert got["Middleware"].kind == "heading"
    assert got["CORSMiddleware"].section == "Middleware › CORSMiddleware"
    assert got["Starlette includes several middleware classes."].section == "Middleware"
    # a paragraph's soft line breaks are not sentence ends
    wrapped = "The defaults are restrictive,\nso you need to enable origins explicitly."
    assert got[wrapped].kind == "prose" and got[wrapped].section == "Middleware › CORSMiddleware"
    code = 'from starlette.middleware.cors import CORSMiddleware\n\nmiddleware = [Middleware(CORSMiddleware, allow_origins=["*"])]'
    assert got[code].kind == "code"
    assert got["`allow_origins` - A list of origins that should be permitted."].kind == "list_item"
    assert got["allow_origins | ()"].kind == "table_row"
    assert got["max_age | 600"].kind == "table_row"
    assert got["The middleware must be added before routing."].kind == "admonition"
    assert got["It applies to every route."].kind == "admonition"
    assert got["Quoted wisdom."].kind == "quote"
    assert got["indented_code = True"].kind == "code"
    assert got["HTTP/2 does not change the API"].section == "Middleware › CORSMiddleware › Enabling HTTP/2"
    assert not any("Front matter" in t or "comment the reader" in t for t in got)


def test_a_heading_is_never_inside_another_unit(tmp_path):
    doc, _ = md_doc(tmp_path)
    for u in document_units(doc):
        if u.kind != "heading":
            text = doc.text[u.start : u.end]
            assert "#" not in text and "Enabling HTTP/2" not in text
            assert "CORSMiddleware\n" not in text or u.kind == "code"


def test_chunks_carry_sections_keep_code_whole_and_are_exact(tmp_path):
    doc, _ = md_doc(tmp_path)
    for max_chars in (120, 200, 700, 1000):
        chunks = chunk_document(doc, max_chars=max_chars)
        code = 'from starlette.middleware.cors import CORSMiddleware\n\nmiddleware = [Middleware(CORSMiddleware, allow_origins=["*"])]'
        holding = [c for c in chunks if "from starlette" in c.text]
        assert holding and all(code in c.text for c in holding), max_chars  # never cut through
        for c in chunks:
            assert c.text == doc.text[c.start : c.end]
            assert c.section.startswith("Middleware")
            assert not c.text.rstrip().endswith("CORSMiddleware")  # never ends with a heading
            for s, e, kind in c.units:
                assert 0 <= s < e <= len(c.text)
    chunks = chunk_document(doc, max_chars=300)
    code_chunk = next(c for c in chunks if "from starlette" in c.text)
    assert "To enable CORS, add the middleware:" in code_chunk.text  # the introducing prose goes with it
    assert code_chunk.section == "Middleware › CORSMiddleware"
    last = chunk_document(doc, max_chars=120)[-1]
    assert last.section == "Middleware › CORSMiddleware › Enabling HTTP/2"


def test_a_long_code_block_is_split_at_line_breaks(tmp_path):
    body = "\n".join(f"value_{i} = compute({i})" for i in range(60))
    doc, _ = md_doc(tmp_path, f"# Big\n\nIntro text here.\n\n```python\n{body}\n```\n")
    chunks = chunk_document(doc, max_chars=200)
    for c in chunks:
        assert c.text == doc.text[c.start : c.end] and len(c.text) <= 200
        assert all(line.startswith("value_") or line in ("Intro text here.", "Big", "```python", "")
                   for line in c.text.split("\n"))
    assert sum(c.text.count("value_") for c in chunks) >= 60


def test_passage_units_feed_the_sentence_splitter(tmp_path):
    doc, _ = md_doc(tmp_path)
    chunk = next(c for c in chunk_document(doc, 700) if "from starlette" in c.text)
    spans = sentence_spans(chunk.text, units=chunk.units)
    texts = [chunk.text[s.start : s.end] for s in spans]
    assert any(t.startswith("from starlette") and t.endswith('allow_origins=["*"])]') for t in texts)
    assert "CORSMiddleware" not in texts  # headings are left out
    assert sentence_spans("One. Two.") == sentence_spans("One. Two.", units=())


def test_wrapped_plain_text_is_one_sentence_and_blank_lines_still_end_sentences():
    text = "The default priority value is\n50, and the maximum is 100. Another one\nhere.\n\nNew paragraph without stop\n\nLast"
    got = [text[u.start : u.end] for u in text_units(text)]
    assert got == ["The default priority value is\n50, and the maximum is 100.", "Another one\nhere.",
                   "New paragraph without stop", "Last"]
    hyphen = "The configu-\nration is read once. Done."
    assert [hyphen[s:e] for s, e in prose_spans(hyphen, 0, len(hyphen), wrapped=True)][0] == "The configu-\nration is read once."
    paged = "First page ends\n\f\nSecond page."
    assert [paged[u.start : u.end] for u in text_units(paged)] == ["First page ends", "Second page."]
    titled = "Introduction\nThe tool reads files.\n- first item\n- second item"
    assert [titled[u.start : u.end] for u in text_units(titled)] == [
        "Introduction", "The tool reads files.", "- first item", "- second item"]


def test_pdf_like_text_document_chunks_keep_wrapped_sentences(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("The default priority value is\n50, and the maximum is 100.\n\nOther text.\n")
    doc = load(path)
    chunk = chunk_document(doc)[0]
    spans = sentence_spans(chunk.text, units=chunk.units)
    assert chunk.text[spans[0].start : spans[0].end] == "The default priority value is\n50, and the maximum is 100."


def test_html_units_are_exact_against_the_visible_text(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("""<html><head><title>Guide</title><style>p{}</style></head><body>
<h1>Guide</h1><p>Intro   sentence one. Sentence
two.</p>
<h2>Install <code>pkg</code></h2>
<ul><li>First item</li><li>Second <b>item</b></li></ul>
<table><tr><th>Name</th><th>Value</th></tr><tr><td>timeout</td><td>30</td></tr></table>
<pre>x = 1
    y = 2</pre>
<blockquote>Quoted text.</blockquote>
<div>Loose text in a div.</div>
</body></html>""")
    doc = load(path)
    got = by_text(doc)
    for text, u in got.items():
        assert doc.text[u.start : u.end] == text
    assert got["Guide"].kind == "heading"
    assert got["Intro sentence one."].section == "Guide"
    assert got["Sentence two."].kind == "prose"
    assert got["First item"].kind == "list_item" and got["First item"].section == "Guide › Install pkg"
    assert got["Second item"].kind == "list_item"
    assert got["Name | Value"].kind == "table_row" and got["timeout | 30"].kind == "table_row"
    assert got["x = 1\n    y = 2"].kind == "code"
    assert got["Quoted text."].kind == "quote"
    assert got["Loose text in a div."].kind == "prose"
    chunks = chunk_document(doc, max_chars=700)
    assert all(c.text == doc.text[c.start : c.end] for c in chunks)
    assert chunks[0].section == "Guide"


def test_identifiers_are_split_into_words():
    words = identifier_words("Use follow_redirects=True with httpx.Client, trust_env and CORSMiddleware or getValue.")
    assert "follow redirects true" in words
    assert "httpx client" in words
    assert "trust env" in words
    assert "cors middleware" in words
    assert "get value" in words
    assert identifier_words("plain words only") == []


def _chunk(doc_text, source, section="", start=0):
    doc = Document(text=doc_text, source=source)
    return Chunk(doc_id=doc.id, source=source, text=doc_text[start:], start=start, end=len(doc_text), section=section,
                 units=((0, len(doc_text) - start, "prose"),))


def test_section_and_units_survive_metadata_and_the_manifest(tmp_path):
    doc, _ = md_doc(tmp_path)
    chunks = chunk_document(doc, max_chars=200)
    for c in chunks:
        assert Chunk.from_metadata(c.text, c.metadata()) == c
    manifest = Manifest(tmp_path / "m.sqlite")
    manifest.apply([Change(source=doc.source, doc_id=doc.id, title=doc.title, chunks=tuple(chunks))], "fp")
    back = manifest.chunks([c.id for c in chunks])
    assert back == chunks
    assert [c.section for c in back] == [c.section for c in chunks]
    assert all(c.text == doc.text[c.start : c.end] for c in back)
    manifest.close()


def test_bm25_finds_identifiers_and_sections(tmp_path):
    redirect = _chunk("Pass follow_redirects=True to the client to follow them.", "a.md", "Clients › Redirects")
    other = _chunk("Timeouts default to five seconds for every request made.", "b.md", "Clients › Timeouts")
    camel = _chunk("Add CORSMiddleware to the application stack.", "c.md")
    manifest = Manifest(tmp_path / "m.sqlite")
    manifest.apply([Change(source=c.source, doc_id=c.doc_id, chunks=(c,)) for c in (redirect, other, camel)], "fp")
    assert manifest.search("follow redirects", 3)[0][0] == redirect.id
    assert manifest.search("How does follow_redirects work?", 3)[0][0] == redirect.id
    assert manifest.search("cors middleware", 3)[0][0] == camel.id
    assert manifest.search("redirects section", 3)[0][0] == redirect.id
    assert [c.text for c in manifest.chunks([redirect.id, other.id])] == [redirect.text, other.text]
    manifest.close()


def test_units_dispatch_by_format():
    assert [u.kind for u in units("# Title\n\nText.", "markdown")] == ["heading", "prose"]
    assert [u.kind for u in units("# Title\n\nText.", "text")] == ["prose", "prose"]
    doc = Document(text="# T\n\nBody here.", source="x.md")
    assert [c.section for c in chunk_document(doc)] == ["T"]
    directive = "# API\n\n??? abstract \"API Reference\"\n    ::: pkg.Client\n        options:\n            show: false\n\nText.\n"
    assert [directive[u.start : u.end] for u in units(directive, "markdown")] == ["API", "Text."]
    setext = "Title\n=====\n\nBody text.\n\nSub\n---\n\nMore."
    got = [(setext[u.start : u.end], u.kind, u.section) for u in units(setext, "markdown")]
    assert got == [("Title", "heading", "Title"), ("Body text.", "prose", "Title"), ("Sub", "heading", "Title › Sub"),
                   ("More.", "prose", "Title › Sub")]


def test_docx_heading_styles_give_sections(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Guide", level=1)
    d.add_paragraph("Intro sentence one. Intro two.")
    d.add_heading("Setup", level=2)
    d.add_paragraph("First step", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Name", (0, 1): "Value", (1, 0): "timeout", (1, 1): "30"}.items():
        table.cell(r, c).text = text
    path = tmp_path / "guide.docx"
    d.save(path)
    doc = load(path)
    got = by_text(doc)
    assert got["Guide"].kind == "heading"
    assert got["Intro two."].section == "Guide"
    assert got["First step"].kind == "list_item" and got["First step"].section == "Guide › Setup"
    assert got["timeout | 30"].kind == "table_row"
    assert [c.section for c in chunk_document(doc, max_chars=60)] == ["Guide", "Guide › Setup"]
