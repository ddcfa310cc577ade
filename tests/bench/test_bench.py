"""The benchmark harness runs end to end on its tiny input and writes results.json-shaped output and
a chart. No time is asserted: these numbers come from whatever machine runs the tests."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import Section, percentile
from bench.report import build, rows

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {"ingest", "query", "generate", "cold", "memory"}


@pytest.mark.unit
def test_percentile_and_ratios_and_targets():
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert math.isnan(percentile([], 50))
    s = Section("ingest")
    s.put("ours", 90.0, "chunks/s")
    s.put("raw", 100.0, "chunks/s")
    s.compare("ingest vs raw", "ours", "raw", "higher", (">=", 0.9))
    s.compare("missing", "ours", "nothing", "higher")
    doc = build([s], machine={}, when="t", git={}, quick=True, params={}, errors={}, skipped={})
    assert doc["ratios"]["ingest.ingest_vs_raw"]["value"] == pytest.approx(0.9)
    assert doc["targets"]["ingest.ingest_vs_raw"] == {"value": 0.9, "target": ">= 0.9", "met": True}
    assert "ingest.missing" not in doc["ratios"]
    assert rows(doc)[0][:3] == ["ingest", "ingest vs raw [chunks/s]", "90.0"]


@pytest.mark.integration
def test_quick_run_writes_results_and_chart(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True and doc["errors"] == {}
    assert {"machine", "when", "git", "results", "ratios", "targets"} <= set(doc)
    assert doc["machine"]["cores"] >= 1
    assert set(doc["results"]) == SECTIONS
    for section, metrics in doc["results"].items():
        assert metrics, section
        for name, value in metrics.items():
            assert isinstance(value, (int, float)) and math.isfinite(value), f"{section}.{name} = {value!r}"
    expected = {"ingest.ingest_vs_raw", "ingest.ingest_vs_raw_same_backend", "ingest.ingest_vs_llama_index_same_chunking", "query.retrieval_p50_vs_raw",
                "query.ask_local_vs_llama_index", "generate.generation_vs_raw"}
    assert expected <= set(doc["targets"])
    for t in doc["targets"].values():
        assert isinstance(t["value"], float) and isinstance(t["met"], bool)
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "section" in proc.stdout and "ratio" in proc.stdout
