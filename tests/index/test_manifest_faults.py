"""The manifest's faults as the error tree names them, and the file moved aside for a rebuild."""

import sqlite3

import pytest

from index.documents import Chunk
from index.errors import ManifestCorrupt
from index.manifest import Change, Manifest


def _change(source: str = "a.txt") -> Change:
    chunk = Chunk(doc_id="d1", source=source, text="The harbour crane lifts ten tonnes.", start=0, end=35)
    return Change(source=source, doc_id="d1", chunks=(chunk,))


@pytest.mark.unit
def test_a_damaged_file_is_manifest_corrupt_naming_qa_repair(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"not a database at all " * 100)
    m = Manifest(path)
    with pytest.raises(ManifestCorrupt) as err:
        m.documents()
    assert err.value.status == 503 and "qa repair --collection notes" in err.value.message


@pytest.mark.unit
def test_a_replaced_file_is_read_afresh_after_the_failure(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"garbage " * 100)
    m = Manifest(path)
    with pytest.raises(ManifestCorrupt):
        m.count_chunks()
    path.unlink()  # the operator removes the damaged file (or `qa repair` moves it aside): no restart needed
    m.apply([_change()], "hash-256")
    assert m.count_chunks() == 1


@pytest.mark.unit
def test_discard_moves_the_file_aside_and_check_reads_it_through(tmp_path):
    m = Manifest(tmp_path / "notes.sqlite")
    m.apply([_change()], "hash-256")
    assert m.check() == 1
    aside = m.discard()
    assert aside is not None and aside.name == "notes.sqlite.broken-1" and aside.exists()
    assert not (tmp_path / "notes.sqlite").exists()
    assert m.count_chunks() == 0  # a fresh, empty manifest in its place
    with sqlite3.connect(aside) as old:
        assert old.execute("SELECT count(*) FROM chunks").fetchone()[0] == 1
