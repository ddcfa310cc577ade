"""`qa eval` as a user runs it: a new process, the real models, real Chroma."""

import json

import pytest

from tests.conftest import SEED_FILE, run_qa

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("eval-cli")
    out = base / "run"
    done = run_qa("eval", "--dataset", "seed", "--limit", "4", "--systems", "bm25,groundqa:extractive",
                  "--out", str(out), home=base / "home")
    assert done.returncode == 0, done.stderr
    assert "groundqa:extractive" in done.stdout and "run took" in done.stdout
    assert "4/4" in done.stderr  # the progress bar
    return out


def test_eval_writes_outputs_that_parse(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["dataset"] == "seed" and metrics["questions"] == 4 and metrics["answerable"] == 2
    assert set(metrics["metrics"]) == {"bm25", "groundqa:extractive"}
    g = metrics["metrics"]["groundqa:extractive"]
    for key in ("hit@k", "mrr@10", "f1", "contains", "citation_recall", "citation_precision", "refusal_accuracy",
                "false_refusal", "latency_total_p50", "latency_generate_p95"):
        assert key in g
    assert g["quote_exact"] == 1.0
    assert "f1" not in metrics["metrics"]["bm25"]  # retrieval only
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {r["system"] for r in rows} == {"bm25", "groundqa:extractive"}
    seed_text = SEED_FILE.read_text(encoding="utf-8")
    for r in rows:
        assert set(r["scores"]) >= {"hit@1", "mrr@10"}
        if r["system"] == "groundqa:extractive":
            assert r["answer"]["question"] == r["question"]
            for c in r["answer"]["citations"]:
                assert seed_text[c["start"]:c["end"]] == c["quote"]
    report = (run_dir / "report.md").read_text()
    assert report.startswith("# Eval report: seed") and "## The ten worst failures" in report
    for png in ("metrics.png", "latency.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_a_run_with_itself(run_dir, tmp_path):
    done = run_qa("eval", "--compare", str(run_dir), str(run_dir), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "== groundqa:extractive" in done.stdout and "0 question(s) changed" in done.stdout


@pytest.mark.parametrize("args,words", [
    (["--dataset", "nosuch"], "Unknown dataset 'nosuch'"),
    (["--dataset", "missing.jsonl", "--docs", "seeds"], "Dataset file not found"),
    (["--dataset", "clapnq", "--docs", "/no/such/folder"], "ClapNQ dev files not found"),
    (["--dataset", "seed", "--systems", "bm26"], "Unknown system 'bm26'"),
    (["--compare", "/no/a", "/no/b"], "is not an eval run"),
])
def test_bad_input_exits_with_a_message_that_says_how_to_fix_it(args, words, tmp_path):
    done = run_qa("eval", *args, home=tmp_path)
    assert done.returncode != 0
    assert done.stderr.startswith("error: ") and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
