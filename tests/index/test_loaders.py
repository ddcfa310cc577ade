import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from index.chunking import chunk_document
from index.documents import PAGE_SEPARATOR, Chunk, Document, content_hash
from index.errors import DocumentError, PathNotFound, UnsupportedFileType
from index.loaders import expand_paths, load, parse, supported

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_text_is_kept_exactly(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("# Title\n\nBody  with  spaces.\n", encoding="utf-8")
    doc = load(p)
    assert doc.text == "# Title\n\nBody  with  spaces.\n"
    assert doc.title == "Title"
    assert doc.source == str(p)
    assert doc.pages == () and doc.page_at(3) is None


def test_folders_expand_to_supported_files_sorted(tmp_path):
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "d.DOCX").write_bytes(b"PK")
    (tmp_path / "e.htm").write_text("<p>e</p>")
    (tmp_path / "skip.bin").write_bytes(b"\x00\x01")
    (tmp_path / "skip.doc").write_bytes(b"\xd0\xcf")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("c")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.md", "b.txt", "c.pdf", "d.DOCX", "e.htm"]


@pytest.mark.parametrize(
    "name,data,error,words",
    [
        ("x.txt", b"\x00\x01\x02binary", DocumentError, "binary"),
        ("x.txt", b"\xff\xfe\xfa not utf8", DocumentError, "UTF-8"),
        ("x.txt", b"   \n", DocumentError, "empty"),
        ("x.odt", b"PK\x03\x04", UnsupportedFileType, "Supported types"),
        ("x.doc", b"\xd0\xcf\x11\xe0", UnsupportedFileType, "save it as .docx"),
        ("x.pdf", b"%PDF-1.4\n1 0 obj\n<<", DocumentError, "damaged"),
        ("x.pdf", b"<html>not a pdf</html>", DocumentError, "not a PDF"),
        ("x.docx", b"just some text, not a zip", DocumentError, "save it as .docx"),
        ("x.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", DocumentError, "binary"),
        ("x.html", b"<html><head><title>T</title><script>go()</script></head><body> </body></html>",
         DocumentError, "no visible text"),
        ("x.html", b"<p>caf\xe9</p>", DocumentError, "UTF-8"),
    ],
)
def test_unreadable_files_say_how_to_fix(tmp_path, name, data, error, words):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(error) as info:
        load(p)
    assert words in info.value.message
    assert info.value.status in (415, 422)
    assert "Traceback" not in info.value.message


def test_unsupported_type_lists_the_new_types(tmp_path):
    p = tmp_path / "x.odt"
    p.write_bytes(b"PK")
    with pytest.raises(UnsupportedFileType) as info:
        load(p)
    for suffix in (".pdf", ".docx", ".html", ".htm", ".md", ".txt"):
        assert suffix in info.value.message
    assert all(supported(Path(f"a{s}")) for s in (".pdf", ".PDF", ".docx", ".html", ".htm", ".rst"))


def test_missing_path(tmp_path):
    with pytest.raises(PathNotFound) as info:
        expand_paths([tmp_path / "nope"])
    assert "nope" in info.value.message and info.value.status == 404


def test_text_chunks_keep_their_ids_and_carry_no_page():
    doc = Document(text="One sentence here. Another one there.", source="a.txt")
    chunk = chunk_document(doc)[0]
    assert chunk.page is None and "page" not in chunk.metadata()
    assert chunk.id == content_hash(doc.id, "a.txt", str(chunk.start), str(chunk.end))


# --- HTML -------------------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head>
  <meta charset="utf-8">
  <title>  The   Harbour &amp; Light </title>
  <style>body { color: red; } .secret { display: none }</style>
  <script>var secret = "SCRIPT-TEXT"; if (a < b) { alert("x"); }</script>
</head>
<body>
  <noscript>NOSCRIPT-TEXT</noscript>
  <template><p>TEMPLATE-TEXT</p></template>
  <h1>Vell   Point</h1>
  <p>The keeper was   Ada&nbsp;Quill &mdash; she lit
     the lamp in 1871.<br>It burned whale oil.</p>
  <div hidden><p>HIDDEN-TEXT</p></div>
  <ul><li>First <b>item</b></li><li>Second item</li></ul>
  <table><tr><th>Year</th><th>Event</th></tr><tr><td>1902</td><td>Harbour froze</td></tr></table>
  <svg><text>SVG-TEXT</text></svg>
  <p>Caf&eacute; &lt;open&gt; &#169; 2024</p>
</body></html>
"""


def test_html_keeps_only_visible_text_with_its_blocks(tmp_path):
    p = tmp_path / "page.html"
    p.write_text(PAGE, encoding="utf-8")
    doc = load(p)
    assert doc.text == (
        "Vell Point\n\n"
        "The keeper was Ada Quill — she lit the lamp in 1871.\nIt burned whale oil.\n\n"
        "First item\nSecond item\n\n"
        "Year | Event\n1902 | Harbour froze\n\n"
        "Café <open> © 2024"
    )
    for hidden in ("SCRIPT", "secret", "color", "NOSCRIPT", "TEMPLATE", "HIDDEN", "SVG", "Harbour &"):
        assert hidden not in doc.text
    assert doc.title == "The Harbour & Light"
    assert doc.pages == () and all(c.page is None for c in chunk_document(doc))
    for c in chunk_document(doc, max_chars=60):
        assert doc.text[c.start : c.end] == c.text


def test_html_title_falls_back_to_the_first_heading_and_reads_declared_charsets(tmp_path):
    p = tmp_path / "old.htm"
    p.write_bytes(b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
                  b"<body><h2>Caf\xe9 notes</h2><p>Open   daily.</p><pre>def f():\n    return 1</pre>")
    doc = load(p)
    assert doc.text == "Café notes\n\nOpen daily.\n\ndef f():\n    return 1"
    assert doc.title == "Café notes"


# --- DOCX -------------------------------------------------------------------------------------------------


def _docx(build) -> bytes:
    import docx

    d = docx.Document()
    build(d)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    def build(d):
        d.add_heading("Lighthouse Log", level=1)
        d.add_paragraph("The keeper was Ada Quill.")
        d.add_paragraph("")
        table = d.add_table(rows=2, cols=2)
        for r, row in enumerate([("Year", "Event"), ("1902", "Harbour froze")]):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        d.add_paragraph("She retired in 1910.")

    p = tmp_path / "log.docx"
    p.write_bytes(_docx(build))
    doc = load(p)
    assert doc.text == "Lighthouse Log\n\nThe keeper was Ada Quill.\n\nYear | Event\n1902 | Harbour froze\n\nShe retired in 1910."
    assert doc.title == "Lighthouse Log"
    for c in chunk_document(doc, max_chars=50):
        assert doc.text[c.start : c.end] == c.text and c.page is None


def test_docx_title_from_core_properties_and_empty_documents(tmp_path):
    def titled(d):
        d.core_properties.title = "Annual Report"
        d.add_paragraph("Body text.")

    assert parse(_docx(titled), Path("r.docx")).title == "Annual Report"
    with pytest.raises(DocumentError) as info:
        parse(_docx(lambda d: d.add_paragraph("   ")), Path("blank.docx"))
    assert "no text" in info.value.message


def test_docx_zip_that_is_not_a_word_document(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(DocumentError) as info:
        parse(buf.getvalue(), Path("fake.docx"))
    assert "Word document" in info.value.message and "save it again" in info.value.message


# --- PDF --------------------------------------------------------------------------------------------------

PAGE_ONE = ["The lighthouse keeper was Ada Quill.", "She lit the lamp in 1871."]
PAGE_TWO = ["Ships waited at Vell Point during the harbour freeze of 1902.", "The ice broke in March."]


def _pdf(pages: list[list[str]]) -> bytes:
    """A real PDF from matplotlib: one page per list, one line of text per string."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for lines in pages:
            fig = plt.figure(figsize=(8.5, 11))
            for i, line in enumerate(lines):
                fig.text(0.1, 0.9 - 0.05 * i, line, fontsize=12)
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue()


@pytest.fixture(scope="module")
def two_pages() -> bytes:
    return _pdf([PAGE_ONE, PAGE_TWO])


def test_pdf_text_per_page_with_page_offsets(tmp_path, two_pages):
    p = tmp_path / "log.pdf"
    p.write_bytes(two_pages)
    doc = load(p)
    assert doc.text == "\n".join(PAGE_ONE) + PAGE_SEPARATOR + "\n".join(PAGE_TWO)
    assert doc.pages == (0, doc.text.index(PAGE_TWO[0]))
    assert doc.title == PAGE_ONE[0]
    assert doc.page_at(0) == 1 and doc.page_at(doc.pages[1] - 1) == 1 and doc.page_at(doc.pages[1]) == 2
    assert doc.page_at(len(doc.text)) == 2

    chunks = chunk_document(doc, max_chars=70)
    assert len(chunks) >= 2
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.page == doc.page_at(c.start) and c.metadata()["page"] == c.page
    second = next(c for c in chunks if PAGE_TWO[0] in c.text)
    assert second.page == 2 and chunks[0].page == 1


def test_pdf_pages_survive_the_store_and_the_manifest(two_pages):
    doc = parse(two_pages, Path("log.pdf"))  # both stores rebuild chunks with Chunk.from_metadata
    for c in chunk_document(doc, max_chars=70):
        assert Chunk.from_metadata(c.text, c.metadata()) == c
    text_chunk = Chunk(doc_id="d", source="a.txt", text="x", start=0, end=1)
    assert Chunk.from_metadata("x", text_chunk.metadata()).page is None


def test_quotes_on_a_later_page_of_a_passage_cite_that_page(two_pages):
    from qa.answers import Passage

    doc = parse(two_pages, Path("log.pdf"))
    [chunk] = chunk_document(doc)  # both pages in one chunk, which starts on page 1
    passage = Passage(n=1, chunk_id=chunk.id, doc_id=doc.id, source=doc.source, text=chunk.text,
                      start=chunk.start, end=chunk.end, score=1.0, page=chunk.page)
    assert passage.page_at(doc.text.index(PAGE_ONE[1])) == 1
    assert passage.page_at(doc.text.index(PAGE_TWO[1])) == 2


def test_pdf_without_text_needs_ocr(tmp_path):
    with pytest.raises(DocumentError) as info:
        parse(_pdf([[], []]), Path("scan.pdf"))
    assert "no text layer" in info.value.message and "OCR" in info.value.message


def test_truncated_pdf_is_a_clear_error(two_pages):
    for cut in (20, len(two_pages) // 2):
        with pytest.raises(DocumentError) as info:
            parse(two_pages[:cut], Path("cut.pdf"))
        assert "damaged or incomplete" in info.value.message


def test_password_protected_pdf(tmp_path, two_pages):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(two_pages)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(DocumentError) as info:
        parse(buf.getvalue(), Path("locked.pdf"))
    assert "password-protected" in info.value.message


def test_pdf_encrypted_without_a_user_password_still_reads(two_pages):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(two_pages)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    assert PAGE_TWO[0] in parse(buf.getvalue(), Path("restricted.pdf")).text


def test_heavy_readers_load_only_when_used():
    code = "import sys, index.loaders, qa; print(','.join(m for m in ('pypdf', 'docx', 'lxml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- end to end -------------------------------------------------------------------------------------------


def test_ask_a_pdf_and_cite_the_page(fake_service, tmp_path, two_pages):
    p = tmp_path / "log.pdf"
    p.write_bytes(two_pages)
    doc = load(p)
    fake_service.ingest([p])
    fake_service.script["text"] = "Ships waited at Vell Point during the harbour freeze of 1902 [1]."
    answer = fake_service.ask("Where did ships wait during the harbour freeze of 1902?")
    assert not answer.refused, answer.to_dict()
    [citation] = answer.citations
    assert citation.page == 2 and citation.to_dict()["page"] == 2
    assert doc.text[citation.start : citation.end] == citation.quote
    assert "p. 2" in answer.to_text()


def test_text_citations_have_a_null_page(fake_service, tmp_path):
    p = tmp_path / "note.txt"
    p.write_text("The bridge opened in 1999. It is painted red.")
    fake_service.ingest([p])
    fake_service.script["text"] = "The bridge opened in 1999 [1]."
    answer = fake_service.ask("When did the bridge open?")
    assert answer.citations and all(c.page is None for c in answer.citations)
    assert answer.to_dict()["citations"][0]["page"] is None


SPHINX_PAGE = """<!DOCTYPE html><html><head><title>Configuration &#8212; Flask Documentation</title></head><body>
<div class="related" role="navigation"><ul><li><a href="index.html">index</a></li><li>next</li></ul></div>
<div class="document"><div class="body" role="main">
<section id="configuration"><h1>Configuration<a class="headerlink" href="#configuration" title="Link">¶</a></h1>
<p>Applications need some kind of configuration.</p>
<dl class="py data"><dt id="SECRET_KEY">SECRET_KEY<a class="headerlink" href="#SECRET_KEY">¶</a></dt>
<dd><p>A secret key used for securely signing the session cookie.</p></dd></dl>
</section></div></div>
<div class="sphinxsidebar" role="navigation"><h3>Navigation</h3><ul><li>Installation</li><li>Quickstart</li></ul>
<div id="searchbox" role="search"><form><input type="text" name="q"/></form></div></div>
<nav class="md-nav"><ul><li>Home</li></ul></nav>
<div class="footer" role="contentinfo">&#169; Copyright 2010 Pallets.</div>
</body></html>"""


def test_html_documentation_pages_lose_their_site_chrome(tmp_path):
    """Built documentation (Sphinx, MkDocs): navigation bars, sidebars, search boxes, footers and the permalink marks
    after headings are the site, not the page: they never become quotable text."""
    p = tmp_path / "config.html"
    p.write_text(SPHINX_PAGE, encoding="utf-8")
    doc = load(p)
    assert doc.text == ("Configuration\n\nApplications need some kind of configuration.\n\nSECRET_KEY\n\n"
                        "A secret key used for securely signing the session cookie.")
    for chrome in ("¶", "Navigation", "Quickstart", "Copyright", "index", "Home"):
        assert chrome not in doc.text
