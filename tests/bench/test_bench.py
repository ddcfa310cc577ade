"""The benchmark harness runs end to end on its tiny input and writes results.json-shaped output and
a chart. No time is asserted: these numbers come from whatever machine runs the tests."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.common import Section, percentile
from bench.report import build, rows, write
from bench.scale import (COPY_COSINE, MARK, CachedEmbedder, VectorCache, curve, file_text, merge, pool_units, table,
                         write_files)
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {"ingest", "query", "generate", "cold", "memory", "linguistics", "docs"}


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
                "query.ask_local_vs_llama_index", "generate.generation_vs_raw",
                "linguistics.ingest_annotating_at_ingest_vs_not_today", "linguistics.ask_p50_extractive_layer_vs_units_off"}
    assert {"docs.docs_ask_p50_multi_hop_on_vs_off", "linguistics.ask_p50_local_layer_vs_units_off"} <= set(doc["ratios"])
    assert doc["results"]["docs"]["questions"] == 3 and doc["results"]["docs"]["chunks"] > 0
    assert "scale" in doc["skipped"]  # opt-in: never in the default or quick run
    assert expected <= set(doc["targets"])
    for t in doc["targets"].values():
        assert isinstance(t["value"], float) and isinstance(t["met"], bool)
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "section" in proc.stdout and "ratio" in proc.stdout


# --- the scale curve (bench/scale.py) ---------------------------------------------------------------
@pytest.fixture
def main_module():
    """bench.__main__ drops GROUNDQA_* variables when imported (it measures the defaults): give them back."""
    saved = dict(os.environ)
    import bench.__main__ as m

    os.environ.clear()
    os.environ.update(saved)
    return m


@pytest.mark.unit
def test_scale_is_opt_in_with_its_own_results_file(main_module):
    default = main_module.parse([])
    assert "scale" not in default.only and {"linguistics", "docs"} <= set(default.only)
    args = main_module.parse(["--only", "scale", "--sizes", "1000,10000", "--modes", "server"])
    assert args.only == ("scale",) and args.sizes == (1000, 10000) and args.modes == ("server",)
    assert args.out == main_module.DEFAULT_SCALE_OUT and args.out.name == "results-scale.json"
    for bad in (["--only", "scale", "--modes", "cloud"], ["--only", "scale", "--sizes", "1k"], ["--only", "nope"]):
        with pytest.raises(SystemExit):
            main_module.parse(bad)


@pytest.mark.unit
def test_cached_embedder_serves_units_and_their_copies_and_asks_the_model_for_the_rest(tmp_path):
    real = HashEmbedder(dim=64)
    units = ["The Eiffel Tower is in Paris.", "Rivers flow into the sea."]
    cache = VectorCache(tmp_path / "v.npz")
    cache.ensure(units, real)
    assert real.texts_embedded == 2 and len(VectorCache(tmp_path / "v.npz")) == 2  # saved on disk
    cache.ensure(units, real)
    assert real.texts_embedded == 2  # nothing embedded twice
    emb = CachedEmbedder(real, VectorCache(tmp_path / "v.npz"))
    assert emb.fingerprint == real.fingerprint
    original, copy3, copy4, question = map(np.asarray, emb.embed(
        [units[0], f"{units[0]} (record 3)", f"{units[0]} (record 4)", "Where is the Eiffel Tower?"]))
    assert original == pytest.approx(np.asarray(real.embed([units[0]])[0]), abs=1e-6)
    for copy in (copy3, copy4):
        assert np.linalg.norm(copy) == pytest.approx(1.0, abs=1e-5)
        assert float(copy @ original) == pytest.approx(COPY_COSINE, abs=1e-4)
    assert float(copy3 @ copy4) < 0.9999  # every copy has its own vector
    assert emb.embedded == 1 and emb.served == 3  # only the question went to the model
    remembered = emb.remember(["Where is the Eiffel Tower?"])
    assert emb.embed(["Where is the Eiffel Tower?"])[0] == pytest.approx(list(remembered[0]))
    assert emb.embedded == 1  # served from memory
    emb.forget()
    emb.embed(["Where is the Eiffel Tower?"])
    assert emb.embedded == 2


@pytest.mark.unit
def test_scale_files_are_one_chunk_each_with_distinct_texts(tmp_path):
    from index.chunking import chunk_document
    from index.loaders import load
    from qa.config import Config

    units = pool_units()
    assert len(units) > 3000  # ClapNQ + MuSiQue: 100k chunks are ~31 copies
    small = units[:7]
    files = write_files(tmp_path, small, 16)
    texts = [file_text(small, i) for i in range(16)]
    assert len(set(texts)) == 16 and texts[:7] == small and texts[7] == f"{small[0]} (record 1)"
    assert MARK.search(texts[15]).group(1) == "2"
    for f, text in zip(files, texts):
        chunks = chunk_document(load(f), Config().chunk_chars, 1)
        assert [c.text for c in chunks] == [text]


def _scale_doc(n: int, when: str, hybrid: float) -> dict:
    s = Section("scale")
    for mode in ("embedded", "server"):
        s.put(f"{mode}_{n}_retrieve_hybrid_p50_ms", hybrid, "ms")
        s.put(f"{mode}_{n}_retrieve_raw_p50_ms", hybrid / 2, "ms")
        s.put(f"{mode}_{n}_ours_chunks_per_s", 100.0, "chunks/s")
        s.put(f"{mode}_{n}_keyword_index_mb", n / 1000, "MB")
        s.compare(f"{n} {mode}: retrieval p50 (hybrid) vs raw", f"{mode}_{n}_retrieve_hybrid_p50_ms",
                  f"{mode}_{n}_retrieve_raw_p50_ms", "lower")
    return build([s], machine={"cpu": "test", "threads": 2}, when=when, git={}, quick=False,
                 params={"seconds": 1.0}, errors={}, skipped={})


@pytest.mark.unit
def test_scale_runs_merge_into_one_curve_and_chart(tmp_path):
    doc = merge([_scale_doc(1000, "2026-01-01T00:00:00", 10.0), _scale_doc(100000, "2026-01-02T00:00:00", 30.0)])
    points = curve(doc)
    assert sorted(points) == ["embedded", "server"] and sorted(points["server"]) == [1000, 100000]
    assert points["embedded"][100000]["retrieve_hybrid_p50_ms"] == 30.0
    assert doc["ratios"]["scale.100000_server_retrieval_p50_hybrid_vs_raw"]["value"] == pytest.approx(2.0)
    assert [r["when"][:10] for r in doc["params"]["runs_merged"]] == ["2026-01-01", "2026-01-02"]
    assert table(doc).splitlines()[0] == "| | 1k embedded | 100k embedded | 1k server | 100k server |"
    png = write(doc, tmp_path / "results-scale.json")
    assert png.name == "results-scale.png" and png.stat().st_size > 1000


@pytest.mark.integration
def test_scale_section_runs_embedded_and_against_a_chroma_server(tmp_path):
    out = tmp_path / "scale.json"
    env = {**os.environ, "BENCH_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "scale", "--quick", "--sizes", "30",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    doc = json.loads(out.read_text())
    assert doc["errors"] == {} and set(doc["results"]) == {"scale"}
    r = doc["results"]["scale"]
    assert r["units"] == 30 and list((tmp_path / "cache").glob("scale-vectors-*.npz"))
    for mode in ("embedded", "server"):
        assert r[f"{mode}_30_chunks"] == 30 and r[f"{mode}_30_failed"] == 0
        assert r[f"{mode}_30_embedded_by_model_during_ingest"] == 0  # every chunk vector came from the cache
        assert r[f"{mode}_30_keyword_index_mb"] > 0 and r[f"{mode}_30_rss_after_ingest_mb"] > 0
        assert f"scale.30_{mode}_retrieval_p50_hybrid_vs_raw" in doc["ratios"]
    assert r["server_30_server_rss_end_mb"] > 0
    assert out.with_suffix(".png").stat().st_size > 1000
