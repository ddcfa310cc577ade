"""Issue 7 trial: other runtimes and settings for the embedding model (all-MiniLM-L6-v2, the shipped
sentence-transformers folder), against today's torch path, measured interleaved in one process.

    .venv/bin/python -m bench.trials.embedding_backends [--rounds 3] [--query-rounds 3] [--work DIR] [--out F.json]

What it measures, for each variant:
- chunk throughput: encode every `--stride`-th ClapNQ chunk text (597 pooled passages, 700-char chunks,
  ~1,300 chunks; every 6th = 218, the same length mix); rounds interleaved, the order of variants
  rotating each round; median chunks/s (one untimed-for-the-table full pass also gives full-corpus chunks/s);
- single-query latency: encode one question at a time (the 100 held-out ClapNQ questions), one block
  of questions per variant, blocks interleaved with rotating order; p50 / p95 ms;
- quality: cosine retrieval in numpy over all the chunk vectors, MRR@10 and hit@1 against the answerable
  examples' evidence sentences (a chunk is relevant if it contains one); and the cosine of each
  variant's vectors with the torch ones (min / mean).

Variants: torch (today: 2 threads, batch 32), torch batch 16/64/128, torch 1 thread; ONNX Runtime fp32
and dynamic int8, each also after onnxruntime's BERT optimizer; OpenVINO fp32 (precision hint f32),
OpenVINO default precision (bf16 where the CPU has AMX / AVX512-BF16) and OpenVINO reading the int8 ONNX. Every model is exported locally from the shipped weights (no hub).

sentence-transformers' own `backend="onnx"/"openvino"` needs optimum-onnx / optimum-intel, which pip
cannot install next to transformers 5.x (see bench/README.md "What we tried"), so the ONNX model is
exported with `torch.onnx.export` and run with onnxruntime / openvino directly: the same graph the
optimum path would run (BertModel, then mean pooling and L2 normalisation in numpy), with the model's
own fast tokenizer (tokenizer.json, truncation at max_seq_length 256).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    os.environ.setdefault(_var, "1")

import numpy as np

THREADS = 2


# ---------------------------------------------------------------- export

def export_onnx(model_dir: Path, out: Path) -> Path:
    """The product's exporter (index/embeddings.py), so the trial measures exactly what ships."""
    from index.embeddings import _export_onnx

    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        _export_onnx(model_dir, out, THREADS)
    return out


def optimize_bert(fp32: Path, out: Path) -> Path:
    """onnxruntime's transformer optimizer: fused attention, LayerNorm, GELU (fp32, same maths)."""
    if out.exists():
        return out
    from onnxruntime.transformers.optimizer import optimize_model

    optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=1).save_model_to_file(str(out))
    return out


def quantize_int8(fp32: Path, out: Path) -> Path:
    if out.exists():
        return out
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import onnx

    # DefaultTensorType: shape inference cannot type the outputs of the optimizer's fused (com.microsoft) ops
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=False,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return out


# ---------------------------------------------------------------- runners

class Tokenize:
    def __init__(self, model_dir: Path, max_len: int = 256):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(max_len)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def __call__(self, texts):
        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return ids, mask, np.zeros_like(ids)


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    v = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)


class Batched:
    """Sort by length (as sentence-transformers does), run in batches, restore the order."""

    def __init__(self, tokenize, run, batch_size=32):
        self.tokenize, self.run, self.batch_size = tokenize, run, batch_size

    def __call__(self, texts):
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), 384), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            ids, mask, types = self.tokenize([texts[j] for j in idx])
            out[idx] = mean_pool_normalize(self.run(ids, mask, types), mask)
        return out


def torch_runner(model_dir: Path, batch_size=32, threads=THREADS):
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)

    def encode(texts):
        torch.set_num_threads(threads)  # set each call: variants with other thread counts share the process
        return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)

    return encode


def ort_runner(onnx_path: Path, tokenize, batch_size=32, threads=THREADS):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

    def run(ids, mask, types):
        return sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]

    return Batched(tokenize, run, batch_size)


def ov_runner(onnx_path: Path, tokenize, batch_size=32, threads=THREADS, precision: str | None = "f32"):
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(onnx_path))
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    out_port = compiled.output(0)

    def run(ids, mask, types):
        return request.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[out_port]

    return Batched(tokenize, run, batch_size)


# ---------------------------------------------------------------- data and quality

def load_clapnq():
    from evals import datasets
    from index.chunking import chunk_document

    examples, docs = datasets.clapnq(all=False)
    chunks = [c for d in docs for c in chunk_document(d, 700, 1)]
    return examples, [c.text for c in chunks]


def retrieval_quality(examples, chunk_texts, chunk_vecs, question_vecs, k=10):
    rr, hit1, n = [], [], 0
    for ex, q in zip(examples, question_vecs):
        if not ex.answerable or not ex.evidence:
            continue
        evidence = [ev.strip()[:200] for ev in ex.evidence if ev.strip()]
        relevant = {i for i, t in enumerate(chunk_texts) if any(ev in t for ev in evidence)}
        if not relevant:
            continue
        n += 1
        top = np.argsort(-(chunk_vecs @ q), kind="stable")[:k]
        rank = next((r for r, i in enumerate(top, 1) if i in relevant), None)
        rr.append(1.0 / rank if rank else 0.0)
        hit1.append(1.0 if rank == 1 else 0.0)
    return {"mrr10": float(np.mean(rr)), "hit1": float(np.mean(hit1)), "questions": n}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="chunk-throughput rounds per variant")
    ap.add_argument("--stride", type=int, default=6, help="time every N-th chunk (the load here is shared)")
    ap.add_argument("--query-rounds", type=int, default=3, help="passes over the questions for latency")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "groundqa-embedding-trials"),
                    help="where exported models go (reused when present)")
    ap.add_argument("--only", default="", help="comma-separated variant names (torch is always included)")
    ap.add_argument("--out", default="", help="write the results as JSON here")
    args = ap.parse_args(argv)

    from index.embeddings import shipped_model_path

    model_dir = shipped_model_path()
    work = Path(args.work)
    t0 = time.perf_counter()
    fp32 = export_onnx(model_dir, work / "onnx" / "model.onnx")
    t_export = time.perf_counter() - t0
    t0 = time.perf_counter()
    int8 = quantize_int8(fp32, work / "onnx" / "model_qint8.onnx")
    t_quant = time.perf_counter() - t0
    opt = optimize_bert(fp32, work / "onnx" / "model_opt.onnx")
    opt_int8 = quantize_int8(opt, work / "onnx" / "model_opt_qint8.onnx")
    print(f"export {t_export:.1f}s, quantize {t_quant:.1f}s (0 = reused)", flush=True)

    tokenize = Tokenize(model_dir)
    factories = {
        "torch": lambda: torch_runner(model_dir),
        "torch_b16": lambda: torch_runner(model_dir, batch_size=16),
        "torch_b64": lambda: torch_runner(model_dir, batch_size=64),
        "torch_b128": lambda: torch_runner(model_dir, batch_size=128),
        "torch_t1": lambda: torch_runner(model_dir, threads=1),
        "onnx_fp32": lambda: ort_runner(fp32, tokenize),
        "onnx_int8": lambda: ort_runner(int8, tokenize),
        "onnx_opt_fp32": lambda: ort_runner(opt, tokenize),
        "onnx_opt_int8": lambda: ort_runner(opt_int8, tokenize),
        "openvino_fp32": lambda: ov_runner(fp32, tokenize, precision="f32"),
        "openvino_default": lambda: ov_runner(fp32, tokenize, precision=None),
        "openvino_int8": lambda: ov_runner(int8, tokenize, precision="f32"),
    }
    only = {s for s in args.only.split(",") if s}
    names = [n for n in factories if n == "torch" or not only or n in only]
    runners, errors = {}, {}
    for name in names:
        try:
            runners[name] = factories[name]()
            runners[name](["warm up", "a second, somewhat longer warm-up sentence"])
        except Exception as exc:  # record and go on: one backend failing is a result
            errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name}: FAILED {errors[name]}", flush=True)
    names = [n for n in names if n in runners]

    examples, chunk_texts = load_clapnq()
    questions = [e.question for e in examples]
    load = {"start": uptime()}
    print(f"{len(chunk_texts)} chunks, {len(questions)} questions; {load['start']}", flush=True)

    # quality: every chunk once, for the variants that are a different model or runtime (the torch batch /
    # thread variants run the same weights through the same kernels: their vectors are torch's)
    chunk_vecs, full_s = {}, {}
    for n in names:
        if n.startswith("torch_"):
            continue
        t = time.perf_counter()
        chunk_vecs[n] = np.asarray(runners[n](chunk_texts), dtype=np.float32)
        full_s[n] = time.perf_counter() - t
        print(f"full pass {n}: {len(chunk_texts) / full_s[n]:.1f} chunks/s", flush=True)
    load["after_quality"] = uptime()

    # chunk throughput on every `stride`-th chunk (same length mix), interleaved, rotating order
    sample = chunk_texts[:: args.stride]
    chunk_s = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        if r % 2:
            order = order[::-1]
        for n in order:
            t = time.perf_counter()
            runners[n](sample)
            chunk_s[n].append(time.perf_counter() - t)
        print(f"round {r + 1}: " + ", ".join(f"{n} {len(sample) / chunk_s[n][-1]:.0f}/s" for n in names),
              flush=True)
    load["after_chunks"] = uptime()

    # single-query latency: each variant encodes the questions one at a time, as a block; the blocks are
    # interleaved and their order rotates each round. (Per-question interleaving was tried first: torch
    # rebuilding its thread pool after the 1-thread variant, and one runtime's spinning threads, then
    # charged their cost to whichever variant ran next.)
    q_ms = {n: [] for n in names}
    q_vecs = {n: [None] * len(questions) for n in names}
    for r in range(args.query_rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        if r % 2:
            order = order[::-1]
        for n in order:
            for qi, q in enumerate(questions):
                t = time.perf_counter()
                v = runners[n]([q])
                q_ms[n].append((time.perf_counter() - t) * 1000)
                q_vecs[n][qi] = np.asarray(v, dtype=np.float32)[0]
    load["end"] = uptime()

    base = "torch"
    results = {}
    for n in names:
        cps = len(sample) / statistics.median(chunk_s[n])
        ms = sorted(q_ms[n])
        vecs = chunk_vecs.get(n, chunk_vecs[base])
        qual = retrieval_quality(examples, chunk_texts, vecs, np.stack(q_vecs[n]))
        cos = np.sum(vecs * chunk_vecs[base], axis=1)
        results[n] = {
            "chunks_per_s": round(cps, 1), "chunk_seconds": [round(s, 2) for s in chunk_s[n]],
            "query_p50_ms": round(statistics.median(ms), 2), "query_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
            "full_pass_chunks_per_s": round(len(chunk_texts) / full_s[n], 1) if n in full_s else None,
            **qual, "cos_vs_torch_min": float(cos.min()), "cos_vs_torch_mean": float(cos.mean()),
        }
    b = results[base]
    for n, r in results.items():
        r["throughput_ratio"] = round(r["chunks_per_s"] / b["chunks_per_s"], 2)
        r["query_speedup"] = round(b["query_p50_ms"] / r["query_p50_ms"], 2)
        r["mrr_delta"] = round(r["mrr10"] - b["mrr10"], 4)
        r["qualifies"] = bool(r["throughput_ratio"] >= 1.5 and r["query_speedup"] >= 1.0 and abs(r["mrr_delta"]) <= 0.01)

    print(f"\n{'variant':18} {'chunks/s':>9} {'x':>5} {'q p50 ms':>9} {'x':>5} {'MRR@10':>7} {'hit@1':>6} "
          f"{'cos min':>8} qualifies")
    for n, r in results.items():
        print(f"{n:18} {r['chunks_per_s']:9.1f} {r['throughput_ratio']:5.2f} {r['query_p50_ms']:9.2f} "
              f"{r['query_speedup']:5.2f} {r['mrr10']:7.4f} {r['hit1']:6.3f} {r['cos_vs_torch_min']:8.5f} {r['qualifies']}")
    for n, e in errors.items():
        print(f"{n:18} failed: {e}")
    print("load:", json.dumps(load, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps({"results": results, "errors": errors, "load": load,
                                              "chunks": len(chunk_texts), "timed_chunks": len(sample), "questions": len(questions),
                                              "threads": THREADS}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
