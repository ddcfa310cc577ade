"""The ablation table's arithmetic on a hand-made table, and the --without switch reaching the service."""

import pytest

from evals import ablate
from qa.decisions import UNITS, Switches, describe

pytestmark = pytest.mark.unit


def test_gain_is_signed_so_that_positive_means_the_unit_helps():
    assert ablate._delta(0.5, 0.8, higher=True) == pytest.approx(0.3)  # off: contains fell from 0.8 to 0.5
    assert ablate._delta(0.3, 0.1, higher=False) == pytest.approx(0.2)  # off: false refusals rose from 0.1 to 0.3
    assert ablate._delta(None, 0.1, higher=False) is None


def test_table_verdicts():
    base = {"contains": 0.8, "refusal_accuracy": 0.9, "false_refusal": 0.1, "citation_precision": 0.9, "contradicted": 0.0}
    table = {"generator": "extractive", "units": ["role_conflict", "wh_phrase"], "results": {"seed": {
        "test": {"questions": 10, "baseline": base,
                 "role_conflict": {**base, "refusal_accuracy": 0.7},  # off -> fewer refusals: it pays
                 "wh_phrase": {**base, "contains": 0.9}}}}}  # off -> better: it hurts
    md = ablate.markdown(table)
    assert "| role_conflict | · / +0.20 / · / · / · | pays on test |" in md
    assert "| wh_phrase | -0.10 / · / · / · / · | hurts on test |" in md


def test_every_unit_is_documented_and_switchable():
    text = describe()
    for name in UNITS:
        assert name in text and not Switches.without(name).on(name)
    assert Switches.without("role_conflict, wh_phrase").disabled == {"role_conflict", "wh_phrase"}
