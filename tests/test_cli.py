"""The `qa` command as a user runs it: a new process each time."""

import json

import pytest

from tests.conftest import ROOT, SEED_FILE, run_qa

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    out = run_qa("ingest", str(ROOT / "seeds"), "--json", home=home)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["added"] == 1 and summary["failed"] == 0
    return home


@pytest.mark.integration
def test_ask_json_is_the_contract(home):
    out = run_qa("ask", "How did the US vote?", "--json", "--generator", "extractive", home=home)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["refused"] is False and d["generator"] == "extractive"
    assert "against" in d["answer"]
    for c in d["citations"]:
        assert SEED_TEXT[c["start"] : c["end"]] == c["quote"]


@pytest.mark.integration
def test_ask_text_prints_answer_then_sources(home):
    out = run_qa("ask", "How did the US vote?", "--generator", "extractive", home=home)
    assert out.returncode == 0, out.stderr
    answer, sources = out.stdout.split("\nSources:\n")
    assert "[1]" in answer
    assert sources.startswith("[1] ") and SEED_FILE.name in sources and '"' in sources


@pytest.mark.integration
@pytest.mark.parametrize(
    "args,words",
    [
        (["ask", ""], "question is empty"),
        (["ask", "x" * 100_000], "limit is"),
        (["ask", "How did the US vote?", "--collection", "nothere"], "does not exist"),
        (["ingest", "/no/such/path"], "Path not found"),
        (["ask", "How?", "--top-k", "0"], "top_k"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(home, args, words):
    out = run_qa(*args, home=home)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.startswith("error: ") and words in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.integration
def test_binary_file_is_refused_and_nothing_is_written(home, tmp_path):
    before = run_qa("documents", home=home).stdout
    bad = tmp_path / "image.txt"
    bad.write_bytes(bytes(range(256)) * 4)
    out = run_qa("ingest", str(bad), str(ROOT / "seeds"), home=home)
    assert out.returncode == 2 and "binary" in out.stderr
    assert run_qa("documents", home=home).stdout == before
