"""The CI gate: the dev datasets' TEST splits (never fitted on) through the real pipeline (real embedding
model, real Chroma, real spaCy, real SmolLM2) must stay at or above the floors and at or below the
ceilings in evals/thresholds.json; so must the verifier on the claims benchmark's test split.
Raise thresholds when the pipeline gets better; never lower them silently (the file keeps the history)."""

import json

import pytest

from evals.report import metrics_json, write_run
from evals.runner import EvalOptions, run_eval
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
THRESHOLDS = json.loads((ROOT / "evals" / "thresholds.json").read_text())
GATES = THRESHOLDS["gates"]


def below_thresholds(got: dict, limits: dict) -> list[str]:
    failures = []
    for key, floor in limits.get("min", {}).items():
        if got.get(key) is None or got[key] < floor:
            failures.append(f"{key} = {got.get(key)} is below the threshold {floor}")
    for key, ceiling in limits.get("max", {}).items():
        if got.get(key) is None or got[key] > ceiling:
            failures.append(f"{key} = {got.get(key)} is above the threshold {ceiling}")
    return failures


@pytest.mark.parametrize("gate", [g for g in GATES if g["dataset"] != "claims"],
                         ids=lambda g: f"{g['dataset']}-{g['split']}-{g['system']}")
def test_dataset_eval_meets_the_thresholds(real_service, gate, tmp_path):
    system = gate["system"]
    run = run_eval(EvalOptions(dataset=gate["dataset"], split=gate["split"], systems=system), service=real_service,
                   progress=False, log=lambda message: None)
    summary = metrics_json(run)
    write_run(run, tmp_path / "run")  # the report of a failing gate is in the pytest tmp folder
    assert summary["questions"] == len(run.dataset.examples) >= 30
    assert summary["errors"][system] == 0
    failures = below_thresholds(summary["metrics"][system], gate)
    assert not failures, (f"{system} on {gate['dataset']} {gate['split']}: " + "; ".join(failures)
                          + f" (report: {tmp_path / 'run' / 'report.md'})")


@pytest.mark.parametrize("gate", [g for g in GATES if g["dataset"] == "claims"], ids=lambda g: f"claims-{g['split']}")
def test_verifier_on_the_claims_benchmark_meets_the_thresholds(real_service, gate):
    from evals.claims import run_claims

    result = run_claims(real_service, gate["split"], progress=False)
    got = result.metrics.overall.to_dict()
    failures = below_thresholds(got, gate)
    assert not failures, "verifier on claims " + gate["split"] + ": " + "; ".join(failures)
