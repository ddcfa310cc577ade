"""The built-in datasets (seed, clapnq, musique, docs: all vendored in evals/data), their fixed tune/test
splits, and `load_dataset(..., split=...)`."""

import json
from collections import Counter

import pytest

from evals.cli import eval_parser
from evals.datasets import (
    CLAPNQ_DEFAULT, DATA, DOCS_QUESTIONS, Dataset, Example, clapnq, load_jsonl, musique, parse_example, seed_dataset,
    seed_documents, select_split,
)
from evals.runner import default_split, load_dataset
from evals.splits import hash_split
from qa.errors import InvalidInput, PathNotFound
from tests.conftest import SEED_FILE

pytestmark = pytest.mark.unit
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
BUILT_IN = ["seed", "clapnq", "musique", "docs"]


def needs(spec: str) -> None:
    """Every built-in dataset ships in the repository: a missing file is a failure, not a skip."""
    if spec == "docs":
        assert DOCS_QUESTIONS.is_file(), f"{DOCS_QUESTIONS} is missing from the repository"


def test_seed_evidence_is_copied_exactly_from_the_article():
    examples = seed_dataset()
    for e in examples:
        for sentence in e.evidence:
            assert sentence in SEED_TEXT, (e.id, sentence)
        assert e.answerable == bool(e.evidence), e.id


def test_seed_set_shape():
    examples = seed_dataset()
    assert len(examples) >= 30
    assert sum(not e.answerable for e in examples) >= 10
    assert len({e.id for e in examples}) == len(examples)
    assert all(e.answers for e in examples if e.answerable)
    assert any(len(e.evidence) >= 2 for e in examples)  # answers that span two paragraphs
    docs = seed_documents()
    assert [d.text for d in docs] == [SEED_TEXT]


def test_clapnq_default_subset_is_fixed_and_balanced():
    examples, documents = clapnq()
    again, _ = clapnq()
    assert [e.id for e in examples] == [e.id for e in again]
    assert Counter(e.answerable for e in examples) == {True: 50, False: 50}
    # every dev passage is pooled, once
    assert len({d.text for d in documents}) == len(documents) > 500
    sources = {d.source for d in documents}
    for e in examples:
        assert e.gold_sources and set(e.gold_sources) <= sources
        assert e.question
        if e.answerable:
            assert e.answers and e.evidence
        else:
            assert e.answers == [] and e.evidence == []
    d = documents[0]
    assert d.source.startswith(f"clapnq/{d.title}#")


def test_clapnq_limit_all_and_seed():
    small, _ = clapnq(limit=4)
    assert Counter(e.answerable for e in small) == {True: 2, False: 2}
    everything, _ = clapnq(all=True)
    assert len(everything) == 600
    other, _ = clapnq(seed=99)
    assert {e.id for e in other} != {e.id for e in clapnq()[0]}
    assert {e.split for e in clapnq()[0]} == {"test"}  # the default subset IS the test split
    assert Counter(e.split for e in other)["tune"] > 0  # a split never follows the `seed` argument


def test_clapnq_is_vendored_and_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    assert CLAPNQ_DEFAULT == DATA / "clapnq" and (CLAPNQ_DEFAULT / "LICENSE").is_file()
    monkeypatch.delenv("GROUNDQA_CLAPNQ", raising=False)
    with pytest.raises(PathNotFound, match="Pass the folder with --docs or set GROUNDQA_CLAPNQ"):
        clapnq(tmp_path)
    monkeypatch.setenv("GROUNDQA_CLAPNQ", str(tmp_path))
    with pytest.raises(PathNotFound, match="ClapNQ dev files not found"):
        clapnq()  # the environment variable overrides the vendored copy
    monkeypatch.setenv("GROUNDQA_CLAPNQ", str(CLAPNQ_DEFAULT))
    assert len(clapnq(limit=2)[0]) == 2


def test_collection_name_follows_the_documents():
    docs = seed_documents()
    a = Dataset("seed", [], docs)
    assert a.collection == Dataset("seed", seed_dataset(), docs).collection  # questions do not matter
    assert a.collection != Dataset("seed", [], docs[:0]).collection
    assert a.collection.startswith("eval-seed-")


# --- MuSiQue --------------------------------------------------------------------------------------
def test_musique_shape():
    examples, documents = musique()
    assert len(examples) == 100 and len(documents) == 1890
    assert all(e.answerable and e.answers and e.evidence for e in examples)
    assert len({d.source for d in documents}) == 1890
    d = documents[0]
    assert d.source.startswith(f"musique/{d.title}#") and d.title == "Journal of Mathematical Physics"
    first = examples[0]
    assert first.id == "2hop__150763_14904" and first.answers == ["G. Stanley Hall", "Stanley Hall"]
    assert first.gold_sources == ["musique/Journal of Psychotherapy Integration#7b2ac8600c",
                                  "musique/Adolescence#cc6e2850c6"]
    assert Counter(len(e.gold_sources) for e in examples) == {2: 68, 3: 27, 4: 5}  # hops
    texts = {d.source: d.text for d in documents}
    for e in examples:  # evidence = the sentences of the supporting paragraphs, in them verbatim
        assert all(any(s in texts[g] for g in e.gold_sources) for s in e.evidence), e.id
        assert all(any(s in texts[g] for s in e.evidence) for g in e.gold_sources), e.id  # every hop


# --- every dataset: evidence, splits --------------------------------------------------------------
@pytest.mark.parametrize("spec", BUILT_IN)
def test_every_evidence_string_is_an_exact_substring_of_a_document(spec):
    needs(spec)
    dataset = load_dataset(spec, split="all", all=True)
    corpus = "\x00".join(d.text for d in dataset.documents)
    checked = 0
    for e in dataset.examples:
        if not e.answerable:
            continue
        assert e.evidence or spec == "clapnq", e.id  # a few ClapNQ answers come without selected sentences
        for s in e.evidence:
            assert s.strip() and s in corpus, (spec, e.id, s)
            checked += 1
    assert checked > 0


# Fixed split counts: (tune answerable, tune unanswerable, test answerable, test unanswerable).
# They change only when the data or the split rule changes, on purpose.
SPLIT_COUNTS = {
    "clapnq": (250, 250, 50, 50),
    "musique": (44, 0, 56, 0),
}
KNOWN = {
    "clapnq": {"6401197308716204890": "tune", "1594887608634738480": "tune",
               "-1218875241352839456": "test", "-9166201193558367681": "test"},
    "musique": {"2hop__150763_14904": "test", "2hop__102789_75372": "test",
                "4hop1__709382_146811_31223_91015": "tune", "2hop__6584_6587": "tune"},
    "seed": {"s01": "tune", "s24": "tune", "u01": "tune", "u14": "tune"},
}


@pytest.mark.parametrize("spec", BUILT_IN)
def test_splits_are_disjoint_cover_every_item_and_are_fixed(spec):
    needs(spec)
    everything = load_dataset(spec, split="all", all=True).examples
    parts = {s: select_split(everything, s) for s in ("tune", "test")}
    tune, test = ({e.id for e in parts[s]} for s in ("tune", "test"))
    assert not tune & test
    assert tune | test == {e.id for e in everything} and len(everything) == len(tune) + len(test)
    assert all(e.split == s for s in parts for e in parts[s])
    for s in parts:  # load_dataset(split=...) picks exactly these (an empty split is an error that says so)
        if parts[s]:
            assert [e.id for e in load_dataset(spec, split=s, all=True).examples] == [e.id for e in parts[s]]
        else:
            with pytest.raises(InvalidInput, match=f"no questions in split '{s}'"):
                load_dataset(spec, split=s)
    if spec in SPLIT_COUNTS:
        got = tuple(sum(e.answerable == a for e in parts[s]) for s in ("tune", "test") for a in (True, False))
        assert got == SPLIT_COUNTS[spec]
    for item_id, split in KNOWN.get(spec, {}).items():
        assert (item_id in tune, item_id in test) == (split == "tune", split == "test"), item_id
    if spec == "musique":
        assert all(e.split == hash_split("musique", e.id) for e in everything)


def test_seed_lines_without_a_split_are_tune():
    lines = [json.loads(x) for x in (DATA / "seed.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    examples = seed_dataset()
    for line, e in zip(lines, examples):
        assert e.split == line.get("split", "tune"), e.id
    assert sum(e.split == "tune" for e in examples) >= 38  # the original hand-written set was tuned on


def test_docs_questions_carry_their_split():
    needs("docs")
    lines = [json.loads(x) for x in DOCS_QUESTIONS.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert all(line.get("split") in ("tune", "test") for line in lines), "every docs question needs a split"
    dataset = load_dataset("docs", split="all", all=True)
    assert {e.split for e in dataset.examples} == {"tune", "test"}
    assert len(dataset.documents) == 25 and all(d.source.endswith(".md") for d in dataset.documents)


# --- load_dataset(..., split=...) and --split -----------------------------------------------------
def test_default_split_per_dataset():
    assert [default_split(s) for s in ("seed", "clapnq", "musique", "docs", "my.jsonl")] == \
        ["all", "test", "test", "test", "all"]
    assert default_split("clapnq", all=True) == "all"  # --all alone: every question of the dataset
    assert load_dataset("clapnq").split == "test" and len(load_dataset("clapnq").examples) == 100
    assert len(load_dataset("clapnq", all=True).examples) == 600
    assert load_dataset("seed").split == "all"


def test_split_then_a_balanced_limit():
    for split, n in (("tune", 500), ("test", 100), ("all", 600)):
        d = load_dataset("clapnq", split=split)
        assert d.split == split and len(d.examples) == n
    small = load_dataset("clapnq", split="tune", limit=6).examples
    assert Counter(e.answerable for e in small) == {True: 3, False: 3} and {e.split for e in small} == {"tune"}
    assert {e.id for e in small} == {e.id for e in load_dataset("clapnq", split="tune", limit=6).examples}
    m = load_dataset("musique", split="test", limit=20).examples
    assert len(m) == 20 and all(e.answerable and e.split == "test" for e in m)
    assert len(load_dataset("musique", split="test", limit=20, all=True).examples) == 56  # --all drops --limit
    # the documents never depend on the split: one collection serves every split
    assert len({load_dataset("musique", split=s).collection for s in ("tune", "test", "all")}) == 1
    assert len({load_dataset("clapnq", split=s, limit=4).collection for s in ("tune", "test", "all")}) == 1


def test_clapnq_docs_override_and_bad_split():
    assert load_dataset("clapnq", docs=str(CLAPNQ_DEFAULT), split="test").collection == load_dataset("clapnq").collection
    with pytest.raises(PathNotFound, match="ClapNQ dev files not found"):
        load_dataset("clapnq", docs="/no/such/folder")
    with pytest.raises(InvalidInput, match="Unknown split 'dev'"):
        load_dataset("seed", split="dev")
    with pytest.raises(InvalidInput, match="--docs does not apply"):
        load_dataset("musique", docs="seeds")


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_user_file_without_split_fields_is_in_every_split(tmp_path):
    (tmp_path / "doc.txt").write_text("The sky is blue.\n")
    rows = [{"id": f"q{i}", "question": "What colour is the sky?", "answers": ["blue"], "answerable": True,
             "evidence": ["The sky is blue."]} for i in range(3)]
    spec = write(tmp_path / "mine.jsonl", rows)
    for split in ("tune", "test", "all", None):
        d = load_dataset(spec, docs=str(tmp_path / "doc.txt"), split=split)
        assert len(d.examples) == 3 and d.split == (split or "all")
    rows[0]["split"], rows[1]["split"] = "test", "tune"  # once a line has a split, lines without one are tune
    spec = write(tmp_path / "split.jsonl", rows)
    pick = {s: [e.id for e in load_dataset(spec, docs=str(tmp_path), split=s).examples] for s in ("tune", "test", "all")}
    assert pick == {"tune": ["q1", "q2"], "test": ["q0"], "all": ["q0", "q1", "q2"]}
    rows[0]["split"] = "dev"
    with pytest.raises(InvalidInput, match=r"split.jsonl:1: 'split' must be \"tune\" or \"test\""):
        load_jsonl(write(tmp_path / "split.jsonl", rows))
    rows[0]["split"] = "test"
    write(tmp_path / "tests-only.jsonl", rows[:1])
    with pytest.raises(InvalidInput, match="no questions in split 'tune'"):
        load_dataset(str(tmp_path / "tests-only.jsonl"), docs=str(tmp_path), split="tune")


def test_example_split_round_trips():
    e = Example("x", "Q?", ["a"], True, ["A."], split="test")
    assert e.to_dict()["split"] == "test"
    assert parse_example(e.to_dict(), "here") == e
    assert Example("y", "Q?", [], False, []).to_dict()["split"] == "tune"


def test_split_option_on_the_command_line():
    p = eval_parser()
    assert p.parse_args([]).split is None  # the dataset's default
    assert p.parse_args(["--split", "tune"]).split == "tune"
    with pytest.raises(SystemExit):
        p.parse_args(["--split", "dev"])
    assert "test for clapnq, musique and docs" in " ".join(p.format_help().split())


def test_compare_dataset_shape():
    from evals.datasets import compare_dataset
    from evals.runner import load_dataset

    examples = compare_dataset()
    _, documents = musique()
    corpus = "\n".join(d.text for d in documents)
    assert len(examples) >= 40 and {e.split for e in examples} == {"tune", "test"}
    answerable = [e for e in examples if e.answerable]
    assert len(answerable) >= 30 and len(examples) - len(answerable) >= 6
    for e in answerable:  # one sentence per side, each an exact slice of the paragraphs
        assert len(e.evidence) == 2 and all(s in corpus for s in e.evidence), e.id
        assert e.answers and (e.answers[0] in ("Yes", "No") or e.answers[0] in e.question), e.id
    ds = load_dataset("compare", split="all")
    assert ds.collection == load_dataset("musique", split="all").collection  # one eval collection for both
