"""The CI gate: the seed set through the real pipeline (real embedding model, real Chroma, real
SmolLM2), with the extractive and the local generator, must stay at or above the numbers in
evals/thresholds.json. Raise them when the pipeline gets better; never lower them silently."""

import json

import pytest

from evals.report import metrics_json, write_run
from evals.runner import EvalOptions, run_eval
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
THRESHOLDS = json.loads((ROOT / "evals" / "thresholds.json").read_text())


def below_thresholds(got: dict, limits: dict) -> list[str]:
    failures = []
    for key, floor in limits.get("min", {}).items():
        if got.get(key) is None or got[key] < floor:
            failures.append(f"{key} = {got.get(key)} is below the threshold {floor}")
    for key, ceiling in limits.get("max", {}).items():
        if got.get(key) is None or got[key] > ceiling:
            failures.append(f"{key} = {got.get(key)} is above the threshold {ceiling}")
    return failures


@pytest.mark.parametrize("generator", ["extractive", "local"])
def test_seed_eval_meets_the_thresholds(real_service, generator, tmp_path):
    system = f"groundqa:{generator}"
    run = run_eval(EvalOptions(dataset="seed", systems=system), service=real_service, progress=False,
                   log=lambda message: None)
    summary = metrics_json(run)
    write_run(run, tmp_path / "run")  # the report of a failing gate is in the pytest tmp folder
    assert summary["questions"] == len(run.dataset.examples) >= 30
    assert summary["errors"][system] == 0
    failures = below_thresholds(summary["metrics"][system], THRESHOLDS["seed"][system])
    assert not failures, f"{system} on seed: " + "; ".join(failures) + f" (report: {tmp_path / 'run' / 'report.md'})"
