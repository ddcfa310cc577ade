import pytest

from index.errors import DocumentError, PathNotFound, UnsupportedFileType
from index.loaders import expand_paths, load

pytestmark = pytest.mark.unit


def test_text_is_kept_exactly(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("# Title\n\nBody  with  spaces.\n", encoding="utf-8")
    doc = load(p)
    assert doc.text == "# Title\n\nBody  with  spaces.\n"
    assert doc.title == "Title"
    assert doc.source == str(p)


def test_folders_expand_to_supported_files_sorted(tmp_path):
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "skip.bin").write_bytes(b"\x00\x01")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("c")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.md", "b.txt"]


@pytest.mark.parametrize(
    "name,data,error,words",
    [
        ("x.txt", b"\x00\x01\x02binary", DocumentError, "binary"),
        ("x.txt", b"\xff\xfe\xfa not utf8", DocumentError, "UTF-8"),
        ("x.txt", b"   \n", DocumentError, "empty"),
        ("x.pdf", b"%PDF-1.4", UnsupportedFileType, "Supported types"),
    ],
)
def test_unreadable_files_say_how_to_fix(tmp_path, name, data, error, words):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(error) as info:
        load(p)
    assert words in info.value.message
    assert info.value.status in (415, 422)


def test_missing_path(tmp_path):
    with pytest.raises(PathNotFound) as info:
        expand_paths([tmp_path / "nope"])
    assert "nope" in info.value.message and info.value.status == 404
