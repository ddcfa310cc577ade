"""The verifier benchmark (evals/claims.py, evals/data/claims.jsonl): scoring checked by hand, the data file's shape,
and one run of the real verifier."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from evals.claims import (
    CLAIMS_FILE, FIELDS, HANDMADE_KINDS, ClaimItem, Confusion, load_claims, run_claims, score_claims, table,
    write_claims_report,
)
from evals.splits import hash_split
from qa.answers import ClaimCheck
from qa.errors import InvalidInput


def item(i: int, supported: bool, kind: str = "negation", dataset: str = "seed") -> ClaimItem:
    return ClaimItem(id=f"t{i}", question="q?", claim=f"claim {i}.", passages=("passage",), supported=supported,
                     kind=kind, split="test", dataset=dataset, source="handmade")


# --- scoring, by hand ------------------------------------------------------------------------------
@pytest.mark.unit
def test_perfect_verifier_scores_one():
    items = [item(1, True), item(2, False), item(3, False), item(4, True)]
    m = score_claims(items, [it.supported for it in items])
    assert (m.precision, m.recall, m.false_flag_rate, m.f1) == (1.0, 1.0, 0.0, 1.0)
    assert m.overall == Confusion(tp=2, fp=0, fn=0, tn=2)
    assert m.results["recall"].score == 1.0 and m.results["accuracy"].score == 1.0


@pytest.mark.unit
def test_verifier_that_passes_everything_catches_nothing_and_precision_is_none():
    items = [item(1, True), item(2, False), item(3, False)]
    m = score_claims(items, [True, True, True])
    assert m.recall == 0.0
    assert m.precision is None  # it flags nothing: precision is undefined, reported as None ("-"), never 0.0
    assert m.false_flag_rate == 0.0 and m.f1 == 0.0
    assert m.overall == Confusion(tp=0, fp=0, fn=2, tn=1)
    assert m.to_dict()["overall"]["precision"] is None


@pytest.mark.unit
def test_mixed_case_exact_numbers_per_kind_and_dataset():
    # 6 unsupported, 4 supported. Flagged: 4 unsupported (t1-t4), 1 supported (t7).
    items = [item(1, False, "role_swap", "seed"), item(2, False, "role_swap", "seed"), item(3, False, "number", "docs"),
             item(4, False, "number", "docs"), item(5, False, "number", "docs"), item(6, False, "role_swap", "docs"),
             item(7, True, "role_swap", "seed"), item(8, True, "role_swap", "seed"), item(9, True, "number", "docs"),
             item(10, True, "number", "docs")]
    flagged = {"t1", "t2", "t3", "t4", "t7"}
    verdicts = {it.id: ClaimCheck(it.claim, it.id not in flagged, 0.5, "x") for it in items}
    m = score_claims(items, verdicts)
    assert m.overall == Confusion(tp=4, fp=1, fn=2, tn=3)
    assert m.precision == pytest.approx(4 / 5)
    assert m.recall == pytest.approx(4 / 6)
    assert m.false_flag_rate == pytest.approx(1 / 4)
    assert m.f1 == pytest.approx(2 * 4 / (2 * 4 + 1 + 2))  # 8/11, = harmonic mean of 0.8 and 2/3
    assert m.f1 == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3))
    # role_swap: t1 t2 caught, t6 missed, t7 false flag, t8 passed
    assert m.per_kind["role_swap"] == Confusion(tp=2, fp=1, fn=1, tn=1)
    assert m.per_kind["role_swap"].precision == pytest.approx(2 / 3)
    assert m.per_kind["role_swap"].recall == pytest.approx(2 / 3)
    assert m.per_kind["role_swap"].false_flag_rate == 0.5
    # number: t3 t4 caught, t5 missed, t9 t10 passed
    assert m.per_kind["number"] == Confusion(tp=2, fp=0, fn=1, tn=2)
    assert m.per_kind["number"].precision == 1.0 and m.per_kind["number"].false_flag_rate == 0.0
    assert m.per_dataset["seed"] == Confusion(tp=2, fp=1, fn=0, tn=1)
    assert m.per_dataset["docs"] == Confusion(tp=2, fp=0, fn=2, tn=2)
    assert [r["outcome"] for r in m.rows] == ["tp", "tp", "tp", "tp", "fn", "fn", "fp", "tn", "tn", "tn"]
    assert m.results["recall"].per_question["t5"] == 0.0 and m.results["recall"].per_question["t7"] is None
    assert m.results["false_flag_rate"].per_question["t7"] == 1.0 and m.results["false_flag_rate"].n == 4
    assert m.results["accuracy"].score == pytest.approx(7 / 10)


@pytest.mark.unit
def test_verdicts_may_be_bools_dicts_or_claimchecks_and_must_match_items():
    items = [item(1, False), item(2, True)]
    a = score_claims(items, [False, True])
    b = score_claims(items, [{"supported": False}, ClaimCheck("c", True, 0.9, "supported")])
    assert a.overall == b.overall == Confusion(tp=1, tn=1)
    with pytest.raises(InvalidInput):
        score_claims(items, [True])
    with pytest.raises(InvalidInput):
        score_claims(items, {"t1": True})


@pytest.mark.unit
def test_report_files_and_table(tmp_path):
    from evals.claims import ClaimsRun

    items = [item(1, False, "number"), item(2, True, "number")]
    verdicts = [ClaimCheck("claim 1.", True, 0.8, "supported", "passage"), ClaimCheck("claim 2.", True, 0.9, "supported")]
    m = score_claims(items, verdicts, [12.0, 8.0])
    run = ClaimsRun("test", items, verdicts, [12.0, 8.0], m, 0.02)
    paths = write_claims_report(run, tmp_path / "out")
    metrics = json.loads(paths[0].read_text())
    assert metrics["claims"] == 2 and metrics["per_kind"]["number"]["confusion"] == {"tp": 0, "fp": 0, "fn": 1, "tn": 1}
    assert metrics["latency"]["p50_ms"] == 10.0
    rows = [json.loads(line) for line in paths[1].read_text().splitlines()]
    assert [r["outcome"] for r in rows] == ["fn", "tn"] and rows[0]["ms"] == 12.0
    report = paths[2].read_text()
    assert "Misses: unsupported claims passed (fn): 1" in report and "claim 1." in report
    assert "number" in table(m.per_kind)


# --- the data file ---------------------------------------------------------------------------------
@pytest.mark.unit
def test_claims_file_loads_with_every_field_and_unique_ids():
    raw = [json.loads(line) for line in CLAIMS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(raw) >= 320
    assert all(set(FIELDS) <= set(r) for r in raw)
    assert len({r["id"] for r in raw}) == len(raw)
    items = load_claims(split="all")
    assert len(items) == len(raw)
    assert all(it.split == hash_split("claims", it.id) for it in items)
    assert {it.source for it in items} == {"smollm2", "handmade"}
    assert sum(it.source == "smollm2" for it in items) >= 200
    assert sum(it.source == "handmade" for it in items) >= 100
    assert len(load_claims(split="tune")) + len(load_claims(split="test")) == len(items)


@pytest.mark.unit
def test_every_kind_has_both_splits_and_handmade_kinds_have_both_labels():
    items = load_claims(split="all")
    splits = Counter((it.kind, it.split) for it in items)
    for kind in {it.kind for it in items}:
        assert splits[(kind, "tune")] > 0 and splits[(kind, "test")] > 0, kind
    labels = Counter((it.kind, it.supported) for it in items)
    for kind in HANDMADE_KINDS:
        assert labels[(kind, True)] + labels[(kind, False)] >= 12, kind
        if kind != "paraphrase_supported":
            assert labels[(kind, True)] >= 6 and labels[(kind, False)] >= 6, kind
    assert labels[("paraphrase_supported", False)] == 0


# --- the real verifier -----------------------------------------------------------------------------
@pytest.mark.integration
def test_run_claims_with_the_real_service(tmp_path):
    import qa

    service = qa.open(home=tmp_path / "home", threads=2)
    items = load_claims(split="test")[:10]
    run = run_claims(service, "test", progress=False, items=items)
    assert len(run.verdicts) == len(run.ms) == 10 and all(ms > 0 for ms in run.ms)  # each claim was really checked
    assert all(isinstance(v.supported, bool) for v in run.verdicts)
    assert run.metrics.overall.n == 10
    flagged = sum(1 for it, v in zip(items, run.verdicts) if not v.supported and not it.supported)
    passed = sum(1 for it, v in zip(items, run.verdicts) if v.supported and it.supported)
    assert (run.metrics.overall.tp, run.metrics.overall.tn) == (flagged, passed)  # the metrics count these verdicts
    paths = write_claims_report(run, tmp_path / "run")
    assert json.loads(paths[0].read_text())["claims"] == 10
