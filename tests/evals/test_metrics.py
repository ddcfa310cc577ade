"""Metric code against hand-checked values, including cases that must score exactly 0 and exactly 1.
The support scorer runs the real grounder with the hash embedder (texts sharing words are close)."""

import json

import numpy as np
import pytest

from evals import metrics as M
from evals.datasets import Example
from evals.report import compare
from evals.runner import balanced, load_dataset
from evals.systems import load_predictions, looks_like_refusal, parse_systems
from qa.errors import InvalidInput, PathNotFound
from qa.grounding import Calibration, Grounder
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.unit

Q1 = "The ambassador signed the treaty in Geneva."
Q2 = "Heavy rain flooded the harbour of Valletta."
BOTH = "The ambassador signed the treaty in Geneva while heavy rain flooded the harbour of Valletta."


def ex(id_, answerable=True, answers=("against",), evidence=(Q1,), gold=()):
    return Example(id_, f"question {id_}?", list(answers) if answerable else [], answerable,
                   list(evidence) if answerable else [], list(gold))


def cite(n, quote, source="doc.txt", start=0):
    return {"n": n, "source": source, "chunk_id": "c", "quote": quote, "start": start, "end": start + len(quote)}


def answer(text, citations=(), refused=False):
    return {"answer": text, "refused": refused, "citations": list(citations)}


@pytest.fixture(scope="module")
def scorer():
    embedder = HashEmbedder()
    encode = lambda texts: np.asarray(embedder.embed(list(texts)), dtype=np.float32)  # noqa: E731
    cal = Calibration(weights={}, bias=0.0, threshold=0.5, support_threshold=0.5)
    return M.SupportScorer(Grounder(encode, cal))


# --- answers --------------------------------------------------------------------------------------
def test_token_f1_by_hand():
    # prediction tokens [us, voted, against] ("the" is an article), reference [against]:
    # precision 1/3, recall 1, F1 = 2 * (1/3) / (4/3) = 0.5
    assert M.token_f1("The US voted against.", "against") == pytest.approx(0.5)
    assert M.token_f1("Voted AGAINST [1].", "voted against") == 1.0
    assert M.token_f1("They abstained.", "against") == 0.0
    assert M.token_f1("", "against") == 0.0
    # recall: 2 of the reference's 4 tokens ("security guarantees for ukraine"; only articles are dropped)
    assert M.token_recall("security guarantees", "security guarantees for Ukraine") == 0.5
    assert M.token_recall("Security guarantees for Ukraine [2].", "security guarantees for Ukraine") == 1.0


def test_contains_needs_whole_words():
    assert M.contains("The US voted against it [1].", "against") == 1.0
    assert M.contains("Macron met Trump in the “Oval Office”.", "Oval Office") == 1.0
    assert M.contains("an againstness", "against") == 0.0
    assert M.contains("anything", "") == 0.0


def test_answer_correctness_scores_refusals_zero_and_skips_unanswerable():
    examples = [ex("a"), ex("b"), ex("c", answerable=False)]
    given = {"a": answer("They voted against it [1]."), "b": answer("Refused.", refused=True),
             "c": answer("Something.")}
    got = M.answer_correctness(examples, given)
    assert got["contains"].per_question == {"a": 1.0, "b": 0.0, "c": None}
    assert got["contains"].score == 0.5 and got["contains"].n == 2
    # "they voted against it" vs "against": P = 1/4, R = 1, F1 = 0.4
    assert got["f1"].per_question["a"] == pytest.approx(0.4)
    assert got["recall"].score == pytest.approx(0.5)


# --- retrieval ------------------------------------------------------------------------------------
def test_hit_and_mrr_by_hand():
    examples = [ex("a"), ex("b"), ex("u", answerable=False)]
    other = {"source": "doc.txt", "text": Q2}
    gold = {"source": "doc.txt", "text": "Intro.  " + Q1.replace(" ", "\n", 1) + " More."}  # whitespace differs
    passages = {"a": [other, gold], "b": [other, other], "u": [gold]}
    assert M.hit_at_k(examples, passages, 1).per_question == {"a": 0.0, "b": 0.0, "u": None}
    assert M.hit_at_k(examples, passages, 2).score == 0.5
    mrr = M.mrr_at_k(examples, passages, 10)
    assert mrr.per_question == {"a": 0.5, "b": 0.0, "u": None}
    assert mrr.score == 0.25


def test_gold_sources_decide_relevance_when_known():
    examples = [ex("a", gold=["clapnq/X#1"])]
    assert M.mrr_at_k(examples, {"a": [{"source": "clapnq/X#1", "text": "no evidence here"}]}).score == 1.0
    assert M.mrr_at_k(examples, {"a": [{"source": "clapnq/Y#2", "text": Q1}]}).score == 0.0


# --- citations and grounding ----------------------------------------------------------------------
def test_citations_all_supporting_score_one(scorer):
    a = answer(f"{Q1[:-1]} [1]. {Q2[:-1]} [2].", [cite(1, Q1), cite(2, Q2)])
    got = M.citation_quality([ex("a")], {"a": a}, scorer)
    assert got["citation_recall"].score == 1.0
    assert got["citation_precision"].score == 1.0


def test_citations_none_supporting_score_zero(scorer):
    a = answer("Bananas are yellow [1]. Cats chase mice [2].", [cite(1, Q1), cite(2, Q2)])
    got = M.citation_quality([ex("a")], {"a": a}, scorer)
    assert got["citation_recall"].score == 0.0
    assert got["citation_precision"].score == 0.0


def test_half_right_citations_and_an_uncited_sentence(scorer):
    # sentence 1 cites a quote that supports it; sentence 2 cites the wrong quote; sentence 3 cites nothing
    a = answer(f"{Q1[:-1]} [1]. {Q2[:-1]} [1]. Cats chase mice.", [cite(1, Q1)])
    got = M.citation_quality([ex("a")], {"a": a}, scorer)
    assert got["citation_recall"].score == pytest.approx(1 / 3)
    assert got["citation_precision"].score == pytest.approx(1 / 2)


def test_a_citation_needed_with_another_is_precise(scorer):
    # Neither quote alone supports the sentence (support 0.23 and 0.33 < 0.5); together they do (0.85).
    assert scorer.support(BOTH, [Q1]) < 0.5 and scorer.support(BOTH, [Q2]) < 0.5
    assert scorer.support(BOTH, [Q1, Q2], joined=True) >= 0.5
    a = answer(f"{BOTH[:-1]} [1][2].", [cite(1, Q1), cite(2, Q2)])
    got = M.citation_quality([ex("a")], {"a": a}, scorer)
    assert got["citation_recall"].score == 1.0
    assert got["citation_precision"].score == 1.0
    # a third, irrelevant citation is neither supporting alone nor needed
    a3 = answer(f"{BOTH[:-1]} [1][2][3].", [cite(1, Q1), cite(2, Q2), cite(3, "Cats chase mice.")])
    assert M.citation_quality([ex("a")], {"a": a3}, scorer)["citation_precision"].score == pytest.approx(2 / 3)


def test_unmarked_answer_is_attributed_to_all_its_sources():
    claims = M.answer_claims(answer("One thing. Another thing.", [cite(1, Q1), cite(2, Q2)]))
    assert [c.cites for c in claims] == [(1, 2), (1, 2)]
    assert [c.text for c in claims] == ["One thing.", "Another thing."]


def test_refusals_have_no_citation_or_grounding_score(scorer):
    examples = [ex("a")]
    given = {"a": answer("Your documents do not contain an answer to this question.", refused=True)}
    assert M.citation_quality(examples, given, scorer)["citation_recall"].score is None
    assert M.grounding_share(examples, given, {}, scorer).score is None


def test_grounding_share_by_hand(scorer):
    examples = [ex("a"), ex("b")]
    passages = {"a": [{"text": f"{Q1} {Q2}"}], "b": [{"text": Q2}]}
    given = {"a": answer(f"{Q1} Cats chase mice."), "b": answer(Q2)}
    got = M.grounding_share(examples, given, passages, scorer)
    assert got.per_question == {"a": 0.5, "b": 1.0}
    assert got.score == 0.75


def test_quote_exactness():
    doc = "Alpha beta. " + Q1
    docs = {"doc.txt": doc}
    good = cite(1, Q1, start=doc.index(Q1))
    shifted = {**good, "n": 2, "start": good["start"] + 1, "end": good["end"] + 1}
    elsewhere = {**good, "n": 3, "source": "missing.txt"}
    examples = [ex("a"), ex("b"), ex("c"), ex("d")]
    given = {"a": answer("x", [good]), "b": answer("x", [good, shifted]), "c": answer("x", [elsewhere]),
             "d": answer("x")}
    got = M.quote_exactness(examples, given, docs)
    assert got.per_question == {"a": 1.0, "b": 0.5, "c": 0.0, "d": None}
    assert got.score == 0.5


# --- refusal and latency --------------------------------------------------------------------------
def test_refusal_accuracy_and_false_refusals():
    examples = [ex("a"), ex("b"), ex("u1", answerable=False), ex("u2", answerable=False), ex("u3", answerable=False)]
    given = {"a": answer("x", refused=True), "b": answer("against"), "u1": answer("", refused=True),
             "u2": answer("Your documents do not contain an answer to this question."), "u3": answer("Made up.")}
    acc = M.refusal_accuracy(examples, given)
    assert acc.per_question == {"a": None, "b": None, "u1": 1.0, "u2": 1.0, "u3": 0.0}
    assert acc.score == pytest.approx(2 / 3)
    assert M.false_refusal_rate(examples, given).score == 0.5
    all_refused = {k: answer("", refused=True) for k in given}
    assert M.refusal_accuracy(examples, all_refused).score == 1.0
    assert M.false_refusal_rate(examples, all_refused).score == 1.0


def test_latency_percentiles():
    examples = [ex(str(i)) for i in range(4)]
    timings = {str(i): {"total": 100.0 * (i + 1), "retrieve": 10.0} for i in range(4)}
    got = M.latency(examples, timings)
    assert got["latency_total_p50"].score == 250.0  # linear interpolation between 200 and 300
    assert got["latency_total_p95"].score == pytest.approx(385.0)  # 300 + 0.85 * 100
    assert got["latency_retrieve_p95"].score == 10.0
    assert "latency_generate_p50" not in got


# --- systems -----------------------------------------------------------------------------
def test_parse_systems():
    assert parse_systems("bm25, hybrid, groundqa ,groundqa:local,llamaindex", "extractive") == [
        "bm25", "hybrid", "groundqa:extractive", "groundqa:local", "llamaindex"]
    with pytest.raises(InvalidInput, match="Unknown system 'bm26'"):
        parse_systems("bm25,bm26", "local")


def test_refusal_detection_for_systems_that_do_not_say():
    assert looks_like_refusal("Empty Response")
    assert looks_like_refusal("The context does not mention how China voted.")
    assert not looks_like_refusal("The US voted against it.")


def test_predictions_file(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"id": "s01", "answer": "against", "citations": []}) + "\n")
    assert load_predictions(path)["s01"]["answer"] == "against"
    path.write_text('{"answer": "no id"}\n')
    with pytest.raises(InvalidInput, match='needs "answer" and "id"'):
        load_predictions(path)
    with pytest.raises(PathNotFound, match="Predictions file not found"):
        load_predictions(tmp_path / "nope.jsonl")


# --- datasets -------------------------------------------------------------------------------------
def test_balanced_subset():
    examples = [ex("a1"), ex("a2"), ex("a3"), ex("u1", answerable=False), ex("u2", answerable=False)]
    assert [e.id for e in balanced(examples, 4)] == ["a1", "a2", "u1", "u2"]
    assert [e.id for e in balanced(examples, 3)] == ["a1", "a2", "u1"]
    assert len(balanced(examples, None)) == 5


def test_bad_dataset_input_says_how_to_fix(tmp_path):
    with pytest.raises(InvalidInput, match="Unknown dataset 'nosuch'.*--dataset seed"):
        load_dataset("nosuch")
    with pytest.raises(PathNotFound, match="Dataset file not found"):
        load_dataset(str(tmp_path / "missing.jsonl"), docs=str(tmp_path))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "Q?", "answerable": true, "answers": []}\n')
    with pytest.raises(InvalidInput, match="needs at least one reference answer"):
        load_dataset(str(bad), docs=str(tmp_path))
    bad.write_text("{not json\n")
    with pytest.raises(InvalidInput, match="bad.jsonl:1: not valid JSON"):
        load_dataset(str(bad), docs=str(tmp_path))
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "x", "question": "Q?", "answerable": false}\n')
    with pytest.raises(InvalidInput, match="--docs is required"):
        load_dataset(str(good))


def test_compare_reports_question_changes(tmp_path):
    def run(folder, refused):
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps({
            "dataset": "seed", "questions": 1, "started": "t",
            "metrics": {"groundqa:local": {"refusal_accuracy": 1.0 if refused else 0.0}}}))
        row = {"system": "groundqa:local", "id": "u01", "question": "How did China vote?", "answerable": False,
               "answer": {"answer": "x", "refused": refused}, "error": None, "scores": {}}
        (folder / "results.jsonl").write_text(json.dumps(row) + "\n")
        return folder

    a, b = run(tmp_path / "a", False), run(tmp_path / "b", True)
    text = compare(a, b)
    assert "refusal_accuracy" in text and "0.000 ->      1.000  +" in text
    assert "u01" in text and "answered (should refuse) -> refused" in text
    assert "0 question(s) changed" in compare(a, a)
    with pytest.raises(PathNotFound, match="is not an eval run"):
        compare(tmp_path, a)


def test_worst_failures_take_turns_across_systems():
    from evals.report import worst_failures

    def row(system, id_, refused):
        return {"system": system, "id": id_, "answerable": False, "error": None, "scores": {},
                "answer": {"answer": "x", "refused": refused, "answerability": 0.9}}

    rows = [row("a", f"q{i}", False) for i in range(12)] + [row("b", "q0", False), row("b", "q1", True)]
    got = worst_failures(rows, 4)
    assert [r["system"] for r in got].count("b") == 1 and len(got) == 4
    assert all(not r["answer"]["refused"] for r in got)  # a correct refusal is no failure


# --- independent judges ---------------------------------------------------------------------------
DOC = "Intro sentence here. " + Q1 + " " + Q2  # Q1 at 21..63, Q2 after it


def test_gold_citations_by_hand():
    docs = {"doc.txt": DOC}
    s1, s2 = DOC.index(Q1), DOC.index(Q2)
    right, wrong = cite(1, Q1, start=s1), cite(2, Q2, start=s2)
    given = {"a": answer("x [1].", [right]), "b": answer("x [1] [2].", [right, wrong]), "c": answer("x [1].", [wrong]),
             "d": answer("", refused=True)}
    got = M.gold_citations([ex("a"), ex("b"), ex("c"), ex("d"), ex("u", answerable=False)], given, docs)
    assert got["citation_precision"].per_question == {"a": 1.0, "b": 0.5, "c": 0.0, "d": None, "u": None}
    assert got["citation_recall"].per_question == {"a": 1.0, "b": 1.0, "c": 0.0, "d": None, "u": None}
    assert got["citation_precision"].score == pytest.approx(0.5)
    # another document with the same words is not the evidence
    other = cite(1, Q1, source="other.txt", start=0)
    assert M.gold_citations([ex("a", gold=("doc.txt",))], {"a": answer("x", [other])},
                            {**docs, "other.txt": Q1})["citation_precision"].score == 0.0


def test_gold_spans_tolerate_whitespace_only():
    e = Example("a", "q?", ["x"], True, ["heavy  rain\nflooded the harbour"])
    assert M.gold_spans(e, {"d": "Heavy rain. heavy rain flooded the harbour."}) == [("d", 12, 42)]
    assert M.gold_spans(Example("b", "q?", ["x"], True, ["not there"]), {"d": "abc"}) == []


def test_short_answer_exact():
    e = Example("a", "How did the US vote?", ["against", "voted against"], True, [])
    assert M.short_answer_exact([e], {"a": {"answer": "x", "short_answer": "Against"}}).score == 1.0
    assert M.short_answer_exact([e], {"a": {"answer": "x", "short_answer": "voted against it"}}).score == 1.0
    assert M.short_answer_exact([e], {"a": {"answer": "x", "short_answer": "in favour"}}).score == 0.0
    assert M.short_answer_exact([e], {"a": {"answer": "x"}}).score is None  # no short answer: not scored


def test_short_answer_exact_takes_a_list_holding_an_asked_for_item():
    e = Example("h", "Which caching headers does FileResponse add?", ["ETag", "Last-Modified"], True, [])
    listed = {"h": {"answer": "x", "short_answer": "`Content-Length`, `Last-Modified` and `ETag`"}}
    assert M.short_answer_exact([e], listed).score == 1.0
    assert M.short_answer_exact([e], {"h": {"answer": "x", "short_answer": "`Accept` and `Vary`"}}).score == 0.0


def test_markup_free():
    given = {"a": answer("Use the CORSMiddleware [1]."), "b": answer("## Enabling HTTP/2 [1]."),
             "c": answer("```python [1]."), "d": answer("", refused=True)}
    got = M.markup_free([ex(k) for k in "abcd"], given)
    assert got.per_question == {"a": 1.0, "b": 0.0, "c": 0.0, "d": None}


def test_contradicted_uses_the_claim_check_on_gold_evidence():
    from qa.answers import ClaimCheck

    def check(claim, passages, question):
        assert Q1 in passages  # the gold evidence is always among what the claim is checked against
        if "invasion" in claim:
            return ClaimCheck(claim, False, 0.9, "object_mismatch")
        if "unknown" in claim:
            return ClaimCheck(claim, False, 0.1, "not_found")  # not found is not a contradiction
        return ClaimCheck(claim, True, 0.9, "supported")

    given = {"a": answer("The US voted against the invasion [1].", [cite(1, Q1)]),
             "b": answer("The US voted against it [1]. Something unknown [1].", [cite(1, Q1)]),
             "c": answer("", refused=True)}
    got = M.contradicted([ex("a"), ex("b"), ex("c")], given, {"doc.txt": DOC}, check)
    assert got.per_question == {"a": 1.0, "b": 0.0, "c": None}


def test_sentences_are_quotes_on_extractive_answers_only():
    def extractive(sentences, quotes, generator="extractive", fallback=None):
        return {"answer": " ".join(sentences), "refused": False, "generator": generator, "fallback": fallback,
                "citations": [{"n": i, "quote": q} for i, q in enumerate(quotes, 1)],
                "sentences": [{"text": s, "citations": [i], "supported": True, "relevant": True}
                              for i, s in enumerate(sentences, 1)]}

    given = {
        "a": extractive([Q1, Q2], [Q1, Q2]),  # each sentence is its quote
        "b": extractive(["The default weight value is deprecated."], ["deprecated in favour of globs2"]),  # glued
        "c": extractive(["A paraphrase."], ["Something else."], generator="local"),  # generated: not judged
        "d": extractive([Q1], [Q1], generator="local", fallback="extractive"),  # fell back: judged
        "e": {"answer": "", "refused": True, "citations": [], "sentences": []},
    }
    got = M.sentences_are_quotes([ex(k) for k in "abcde"], given)
    assert got.per_question == {"a": 1.0, "b": 0.0, "c": None, "d": 1.0, "e": None}


def test_short_answer_correct_counts_missing_and_refused_as_wrong():
    given = {"a": {"answer": "x", "refused": False, "short_answer": "Blur"},
             "b": {"answer": "x", "refused": False, "short_answer": None},
             "c": {"answer": "", "refused": True, "short_answer": None},
             "d": {"answer": "x", "refused": False, "short_answer": "Oasis"}}
    got = M.short_answer_correct([ex(k, answers=("Blur",)) for k in "abcd"], given)
    assert got.per_question == {"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.0}
