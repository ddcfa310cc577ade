"""The scale curve (opt-in: `python -m bench --only scale`; not part of the default run or of --quick's CI run).

For each Chroma placement (embedded, and a `chroma run` server on loopback) one child process
(`python -m bench.scale grow SPEC`, so its memory is its own) grows one collection through the sizes (1k, 10k,
100k chunks by default) and at each size, once reached (`grow` says exactly what is timed):

1. ingests the next one-chunk `.txt` files through `Service.ingest`, with an embedder that serves the chunks'
   vectors from a cache on disk (`CachedEmbedder`, given as `Service(config, embedder=...)`);
2. asks questions through the service: hybrid retrieval (`Service.retriever_for("hybrid")`, the default mode),
   dense retrieval, and `Service.ask(..., generator="extractive")` end to end;
3. grows the reference: the same vectors and texts `add`ed to a raw Chroma collection of the same size, queried
   with `collection.query(n_results=k)`, interleaved with ours question by question. Both sides get the
   question's vector ready-made (embedded once before the timings): this curve is about the index, and the
   question encoder's time does not depend on the collection's size (the query section measures it).

The text: the pooled ClapNQ dev passages and MuSiQue paragraphs (evals/data), chunked as groundqa chunks them;
every chunk of at most UNIT_CHARS characters is a unit (3,2xx distinct texts). File i of a size holds unit
(i mod U) as copy (i div U): copy 0 is the text itself, copy c > 0 the text plus " (record c)", so every file is
one chunk, every chunk has its own id and text (the keyword index, the annotation cache and Chroma see
distinct rows, as in a real corpus) and the first sizes are all-distinct real text.

The vectors: the real embedder embeds each unit once; the vectors are cached in
`<cache>/scale-vectors-<key>.npz` (cache = $BENCH_CACHE_DIR or $XDG_CACHE_HOME/groundqa/bench; key = the
embedder's fingerprint and backend and the units' texts), so a later run, or the 100k point, embeds nothing.
Copy c's vector is the unit's vector turned by a fixed angle towards a random direction seeded by (unit, c):
cos(copy, original) = COPY_COSINE, the median cosine measured between the real embeddings of a text and of the
text + " (record 17)" (`python -m bench.scale cosine`). Questions, passage sentences and anything else not in
the cache go to the real embedder, on both sides alike."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from bench.common import Section, free_port, log, median, percentile, python, rss_mb

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (60, 150)
MODES = ("embedded", "server")
COLLECTION = "bench"
RAW_COLLECTION = "raw"
UNIT_CHARS = 670  # leaves room for " (record 99999)" inside one 700-character chunk
COPY_COSINE = 0.997  # measured: median cos(embed(t), embed(t + " (record 17)")) over 200 units (p05 0.989, p95 0.999)
MARK = re.compile(r" \(record (\d+)\)$")
QUERIES, ASKS = 40, 12  # per point (quick: 4 and 2)
WARMUP = 2


# --- the text ---------------------------------------------------------------------------------------
def pool_units(chunk_chars: int = 700, overlap: int = 1) -> list[str]:
    """The distinct chunk texts of the pooled ClapNQ and MuSiQue documents that fit UNIT_CHARS, in a fixed
    shuffled order (so any prefix mixes both corpora)."""
    import random

    from evals.datasets import clapnq, musique
    from index.chunking import chunk_document

    _, clap = clapnq(all=True)
    _, mus = musique()
    texts = [c.text for d in [*clap, *mus] for c in chunk_document(d, chunk_chars, overlap)]
    units = sorted({t for t in texts if 20 <= len(t) <= UNIT_CHARS and not MARK.search(t)})
    random.Random(16).shuffle(units)
    return units


def pool_questions() -> list[str]:
    from evals.datasets import clapnq, musique

    a, _ = clapnq(all=True)
    b, _ = musique()
    qs = [q for pair in zip([e.question for e in a], [e.question for e in b]) for q in pair]
    return list(dict.fromkeys(qs))


def file_text(units: Sequence[str], i: int) -> str:
    """File i's text: unit i mod U, as copy i div U."""
    unit, copy = i % len(units), i // len(units)
    return units[unit] if copy == 0 else f"{units[unit]} (record {copy})"


def write_files(folder: Path, units: Sequence[str], n: int) -> list[Path]:
    """n one-chunk files under `folder` (files already there are kept: sizes share their prefix)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{i // 1000:03d}" / f"f{i:06d}.txt"
        if not p.exists():
            p.parent.mkdir(exist_ok=True)
            p.write_text(file_text(units, i), encoding="utf-8")
        paths.append(p)
    return paths


# --- cached vectors ---------------------------------------------------------------------------------
def cache_dir() -> Path:
    base = os.environ.get("BENCH_CACHE_DIR")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "groundqa" / "bench"


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorCache:
    """Unit vectors by a hash of their text, in one .npz file (keys, float32 matrix)."""

    def __init__(self, path: Path):
        import numpy as np

        self.path = Path(path)
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as z:
                self._vectors = z["vectors"].astype(np.float32)
                self._index = {k: i for i, k in enumerate(z["keys"].tolist())}

    @staticmethod
    def for_units(units: Sequence[str], embedder) -> "VectorCache":
        h = hashlib.sha1(f"{embedder.fingerprint}|{getattr(embedder, 'backend', '')}".encode())
        for u in units:
            h.update(u.encode("utf-8") + b"\0")
        return VectorCache(cache_dir() / f"scale-vectors-{h.hexdigest()[:16]}.npz")

    def __len__(self) -> int:
        return len(self._index)

    def get(self, text: str):
        i = self._index.get(_key(text))
        return None if i is None else self._vectors[i]

    def ensure(self, texts: Sequence[str], embedder, batch: int = 256) -> float:
        """Embed (with the real embedder) and save the texts not cached yet; returns the seconds it took."""
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if _key(t) not in self._index]
        if not missing:
            return 0.0
        t0 = time.perf_counter()
        parts = []
        for i in range(0, len(missing), batch):
            parts.append(np.asarray(embedder.embed(missing[i : i + batch]), dtype=np.float32))
            log(f"scale: embedded {min(i + batch, len(missing))}/{len(missing)} units for the vector cache")
        new = np.concatenate(parts)
        self._vectors = new if not len(self._index) else np.concatenate([self._vectors, new])
        for t in missing:
            self._index[_key(t)] = len(self._index)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.array(list(self._index), dtype="U40"), vectors=self._vectors)
        os.replace(tmp, self.path)
        return time.perf_counter() - t0


def copy_vector(v, unit_text: str, copy: int, cosine: float = COPY_COSINE):
    """Copy `copy`'s vector: v for copy 0, else v turned by acos(cosine) towards a direction seeded by the copy."""
    import numpy as np

    if copy == 0:
        return v
    rng = np.random.default_rng([int(_key(unit_text)[:12], 16), copy])
    g = rng.standard_normal(v.shape[0]).astype(np.float32)
    g -= float(g @ v) * v
    g /= float(np.linalg.norm(g))
    out = cosine * v + float(np.sqrt(1.0 - cosine * cosine)) * g
    return out / float(np.linalg.norm(out))


class CachedEmbedder:
    """An Embedder (index/embeddings.py) for the scale corpus: a unit's text (or a copy of it, by its
    " (record c)" mark) is served from the VectorCache; anything else goes to the real embedder."""

    def __init__(self, real, cache: VectorCache, cosine: float = COPY_COSINE):
        self.real = real
        self.cache = cache
        self.cosine = cosine
        self.served = 0  # texts served from the cache
        self.embedded = 0  # texts the real embedder embedded
        self._remembered: dict[str, object] = {}

    def remember(self, texts: Sequence[str]) -> list:
        """Embed `texts` now with the real embedder and serve them from memory afterwards (the questions of the
        retrieval timings, so that both sides time the index, not the question encoder); returns the vectors."""
        import numpy as np

        vectors = [np.asarray(v, dtype=np.float32) for v in self.real.embed(list(texts))]
        self._remembered.update(zip(texts, vectors))
        return vectors

    def forget(self) -> None:
        self._remembered.clear()

    @property
    def fingerprint(self) -> str:
        return self.real.fingerprint

    def lookup(self, text: str):
        if text in self._remembered:
            return self._remembered[text]
        m = MARK.search(text)
        base, copy = (text[: m.start()], int(m.group(1))) if m else (text, 0)
        v = self.cache.get(base)
        return None if v is None else copy_vector(v, base, copy, self.cosine)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list = [self.lookup(t) for t in texts]
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            for i, v in zip(missing, self.real.embed([texts[i] for i in missing])):
                out[i] = v
            self.embedded += len(missing)
        self.served += len(texts) - len(missing)
        return [v if isinstance(v, list) else v.tolist() for v in out]


# --- the child: one size, one placement -------------------------------------------------------------
def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


class ChromaServer:
    """`chroma run --path DIR --port P` on loopback, for as long as the `with` block lasts."""

    def __init__(self, path: Path):
        self.path, self.port, self.proc = Path(path), free_port(), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ChromaServer":
        exe = Path(sys.executable).parent / "chroma"
        self.log = open(self.path.parent / "chroma-server.log", "wb")
        self.proc = subprocess.Popen([str(exe), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        import urllib.request

        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start (see {self.path.parent / 'chroma-server.log'})")
            time.sleep(0.25)

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)[0]

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def grow(sizes: Sequence[int], mode: str, files_dir: Path, work: Path, questions: list[str], threads: int,
         cache_path: Path, cosine: float = COPY_COSINE, queries: int = QUERIES, asks: int = ASKS):
    """Grow one collection (ours) and its raw twin through `sizes` in one placement, in this process, and
    measure at each size; yields one dict of measurements per size as soon as it is measured.

    Ingest at a size: the files up to it are ingested as one `Service.ingest` call per step (1k, then the next
    9k, ...), timed; `ours_chunks_per_s` is all chunks so far over all ingest time so far (the rate of building
    the collection from empty), `ours_step_chunks_per_s` the rate of the last step (adding to a collection of
    the previous size). The same for the raw `add`s. Retrieval uses the same questions at every size; the asks
    take the next questions at each size, so every ask meets passages the annotation and sentence caches have
    not seen (the first-contact cost a new question pays)."""
    import numpy as np

    import qa
    from index.embeddings import SentenceTransformerEmbedder
    from index.store import chroma_client

    real = SentenceTransformerEmbedder(threads=threads)
    real.embed(["warm up"])
    embedder = CachedEmbedder(real, VectorCache(cache_path), cosine)
    home = work / "home"
    rss_start = rss_mb(os.getpid())[0]
    server = ChromaServer(work / "chroma-server") if mode == "server" else None
    if server:
        server.__enter__()
    try:
        service = qa.open(home=home, embedder=embedder, threads=threads, chroma_url=server.url if server else None)
        service.collections()  # opens the store (imports chromadb, connects) outside the timing, as the raw side does
        client = chroma_client(url=server.url) if server else chroma_client(path=work / "raw-chroma")
        raw = client.get_or_create_collection(RAW_COLLECTION, metadata={"hnsw:space": "cosine"},
                                              embedding_function=None)
        step = client.get_max_batch_size()
        k = service.config.top_k
        hybrid, dense = service.retriever_for("hybrid"), service.retriever_for("dense")
        qs = questions[:queries]
        have, ours_s, raw_s, chunks = 0, 0.0, 0.0, 0
        for stop, n in enumerate(sorted(sizes)):
            out: dict = {"n": n, "mode": mode, "rss_start_mb": rss_start}
            files = [files_dir / f"{i // 1000:03d}" / f"f{i:06d}.txt" for i in range(have, n)]
            before = embedder.embedded
            t0 = time.perf_counter()
            report = service.ingest(files, collection=COLLECTION)
            step_s = time.perf_counter() - t0
            ours_s += step_s
            chunks += report.chunks
            out.update(chunks=chunks, failed=report.failed, ingest_seconds=ours_s, ours_chunks_per_s=chunks / ours_s,
                       ours_step_chunks_per_s=report.chunks / step_s,
                       embedded_by_model_during_ingest=embedder.embedded - before)
            out["rss_after_ingest_mb"] = rss_mb(os.getpid())[0]
            if server:
                out["server_rss_after_ingest_mb"] = server.rss_mb()

            # The reference: the same vectors and texts added to the raw collection.
            texts = [f.read_text(encoding="utf-8") for f in files]
            vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
            t0 = time.perf_counter()
            for i in range(0, len(texts), step):
                raw.add(ids=[f"c{have + j}" for j in range(i, min(i + step, len(texts)))],
                        embeddings=vectors[i : i + step], documents=texts[i : i + step])
            raw_step = time.perf_counter() - t0
            raw_s += raw_step
            out.update(raw_add_seconds=raw_s, raw_chunks_per_s=n / raw_s, raw_step_chunks_per_s=len(texts) / raw_step)
            del vectors, texts
            have = n

            qvec = dict(zip(qs, embedder.remember(qs)))  # retrieval timings: no question encoding on either side

            def raw_query(q: str):
                return raw.query(query_embeddings=[qvec[q]], n_results=k)

            for q in qs[:WARMUP]:
                raw_query(q)
                hybrid.retrieve(q, COLLECTION, k)
                dense.retrieve(q, COLLECTION, k)
            times: dict[str, list[float]] = {"hybrid": [], "dense": [], "raw": []}
            for i, q in enumerate(qs):  # interleaved; who goes first alternates
                if i % 2:
                    times["raw"].append(_ms(lambda: raw_query(q)))
                times["hybrid"].append(_ms(lambda: hybrid.retrieve(q, COLLECTION, k)))
                times["dense"].append(_ms(lambda: dense.retrieve(q, COLLECTION, k)))
                if not i % 2:
                    times["raw"].append(_ms(lambda: raw_query(q)))
            for name, xs in times.items():
                out[f"retrieve_{name}_p50_ms"] = median(xs)
                out[f"retrieve_{name}_p95_ms"] = percentile(xs, 95)

            embedder.forget()  # asks are end to end: the question is encoded again
            ask_qs = (questions[queries:] or questions)[stop * asks : (stop + 1) * asks] or qs[:asks]
            if stop == 0:  # spaCy, the sentence encoder's first shapes: outside the timings
                for q in questions[-3:]:
                    service.ask(q, COLLECTION, generator="extractive")
            ask_times = [_ms(lambda: service.ask(q, COLLECTION, generator="extractive")) for q in ask_qs]
            out["ask_extractive_p50_ms"] = median(ask_times)
            out["ask_extractive_p95_ms"] = percentile(ask_times, 95)
            out["rss_end_mb"], out["hwm_mb"] = rss_mb(os.getpid())
            manifest = service.config.manifest_path
            out["keyword_index_mb"] = sum(p.stat().st_size for p in manifest.glob(f"{COLLECTION}.sqlite*")) / 1e6
            out["chroma_mb"] = _dir_mb(work / "chroma-server" if server else home / "chroma")
            out["raw_chroma_mb"] = 0.0 if server else _dir_mb(work / "raw-chroma")
            if server:
                out["server_rss_end_mb"] = server.rss_mb()
            out["queries"], out["asks"] = len(qs), len(ask_times)
            yield out
    finally:
        if server:
            server.__exit__(None, None, None)


# --- the section ------------------------------------------------------------------------------------
def _label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def run(ctx) -> Section:
    s = Section("scale")
    quick = ctx.options.quick
    sizes = ctx.options.scale_sizes or (QUICK_SIZES if quick else SIZES)
    modes = ctx.options.scale_modes or MODES
    units = pool_units()
    real = ctx.embedder()
    cache = VectorCache.for_units(units, real)
    had = len(cache)
    needed = units[: max(sizes)]  # small sizes (quick, tests) embed only the units they use
    seconds = cache.ensure(needed, real)
    s.put("units", len(needed))
    if seconds:
        s.put("vector_cache_build_seconds", seconds, "s")
        s.put("vector_cache_chunks_per_s", (len(cache) - had) / seconds, "chunks/s")
    s.notes.append(f"vector cache: {cache.path} ({len(cache)} unit vectors; {'extended now' if seconds else 'reused'})")
    questions = pool_questions()
    folder = ctx.new_dir("scale-files")
    write_files(folder, units, max(sizes))
    queries, asks = (4, 2) if quick else (QUERIES, ASKS)
    for mode in modes:
        log(f"scale: {mode}, growing to {', '.join(f'{n:,}' for n in sorted(sizes))} chunks")
        work = ctx.new_dir(f"scale-{mode}")
        spec = {"sizes": list(sizes), "mode": mode, "files_dir": str(folder), "work": str(work),
                "questions": questions, "threads": ctx.options.threads, "cache_path": str(cache.path),
                "queries": queries, "asks": asks}
        spec_path = work / "spec.json"
        spec_path.write_text(json.dumps(spec))
        points, error = _child(spec_path)
        shutil.rmtree(work, ignore_errors=True)
        for r in points:
            _record(s, r)
        if error and not points:
            raise RuntimeError(f"scale ({mode}) failed: {error}")
        if error:  # what was measured before stays in the results
            s.notes.append(f"INCOMPLETE: {mode} stopped after {len(points)} of {len(sizes)} sizes ({error[:300]})")
    return s


def _child(spec_path: Path) -> tuple[list[dict], str | None]:
    """Run `bench.scale grow SPEC`; its points (one JSON line each, printed as measured) and the error if it
    failed or ran out of time (the points measured before still count)."""
    from bench.common import child_env, run_child

    res = run_child([python(), "-m", "bench.scale", "grow", str(spec_path)], child_env(),
                    timeout=float(os.environ.get("BENCH_SCALE_TIMEOUT", 4 * 3600)))
    points = []
    for line in res.stdout.splitlines():
        if line.startswith("{"):
            points.append(json.loads(line))
    error = None if res.returncode == 0 else f"exit {res.returncode}: {res.stderr[-3000:]}"
    return points, error


UNITS = {"chunks_per_s": "chunks/s", "_ms": "ms", "_mb": "MB", "seconds": "s"}


def _record(s: Section, r: dict) -> None:
    p = f"{r['mode']}_{r['n']}_"
    for name, value in r.items():
        if isinstance(value, (int, float)) and name != "n":
            unit = next((u for suffix, u in UNITS.items() if name.endswith(suffix)), "")
            s.put(p + name, value, unit)
    label = f"{_label(r['n'])} {r['mode']}"
    s.compare(f"{label}: ingest vs raw add", p + "ours_chunks_per_s", p + "raw_chunks_per_s", "higher")
    s.compare(f"{label}: retrieval p50 (hybrid) vs raw", p + "retrieve_hybrid_p50_ms", p + "retrieve_raw_p50_ms",
              "lower")
    s.compare(f"{label}: retrieval p95 (hybrid) vs raw", p + "retrieve_hybrid_p95_ms", p + "retrieve_raw_p95_ms",
              "lower")


def curve(doc: dict) -> dict[str, dict[int, dict[str, float]]]:
    """{mode: {n: {metric: value}}} from a results document's scale section."""
    out: dict[str, dict[int, dict[str, float]]] = {}
    for key, value in doc["results"].get("scale", {}).items():
        m = re.match(r"^(\w+?)_(\d+)_(.+)$", key)
        if m and m.group(1) in MODES:
            out.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3)] = value
    return out


def chart(doc: dict, path: Path) -> None:
    """Four panels against chunks (log-log): ingest chunks/s, retrieval p50/p95 (ours hybrid, ours dense, raw),
    extractive ask p50, keyword-index size and RSS; solid = embedded Chroma, dashed = `chroma run` server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = curve(doc)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    panels = [
        (axes[0][0], "ingest (cached vectors)", "chunks/s",
         [("ours_chunks_per_s", "ours: Service.ingest", "#1d3557"), ("raw_chunks_per_s", "raw Chroma add", "#9aa5b1")]),
        (axes[0][1], "retrieval latency", "ms",
         [("retrieve_hybrid_p50_ms", "ours hybrid p50", "#1d3557"), ("retrieve_hybrid_p95_ms", "ours hybrid p95", "#457b9d"),
          ("retrieve_dense_p50_ms", "ours dense p50", "#2a9d55"), ("retrieve_raw_p50_ms", "raw query p50", "#9aa5b1"),
          ("retrieve_raw_p95_ms", "raw query p95", "#c8ced4")]),
        (axes[1][0], "extractive ask", "ms",
         [("ask_extractive_p50_ms", "ask p50", "#1d3557"), ("ask_extractive_p95_ms", "ask p95", "#457b9d")]),
        (axes[1][1], "size", "MB",
         [("keyword_index_mb", "keyword index (manifest)", "#e76f51"), ("chroma_mb", "Chroma on disk", "#9aa5b1"),
          ("rss_end_mb", "process RSS", "#1d3557"), ("server_rss_end_mb", "chroma server RSS", "#6a4c93")]),
    ]
    for ax, title, unit, series in panels:
        for mode, style in (("embedded", "-"), ("server", "--")):
            points = data.get(mode, {})
            for metric, label, color in series:
                xs = sorted(n for n, m in points.items() if metric in m)
                if xs:
                    ax.plot(xs, [points[n][metric] for n in xs], style, marker="o", color=color,
                            label=f"{label} ({mode})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("chunks in the collection")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=6.5)
    m = doc["machine"]
    fig.suptitle(f"groundqa scale curve{' (quick)' if doc['quick'] else ''}: {m.get('cpu', '?')}, "
                 f"{m.get('threads')} threads, {doc['when'][:10]} (solid: embedded Chroma, dashed: chroma run)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- command line -----------------------------------------------------------------------------------
def measure_copy_cosine(samples: int = 200) -> dict:
    """The median cosine between the real embedding of a unit and of the unit + " (record 17)"."""
    import numpy as np

    from index.embeddings import SentenceTransformerEmbedder

    units = pool_units()[:samples]
    e = SentenceTransformerEmbedder(threads=2)
    a = np.asarray(e.embed(units))
    b = np.asarray(e.embed([f"{u} (record 17)" for u in units]))
    cos = (a * b).sum(axis=1)
    return {"samples": len(units), "median": float(np.median(cos)), "p05": float(np.percentile(cos, 5)),
            "p95": float(np.percentile(cos, 95))}


def merge(docs: list[dict]) -> dict:
    """One results document from scale runs made at different times (e.g. 1k and 10k, then 100k alone): the
    first run's machine and header, every run's points (a later run's point replaces an earlier one of the
    same size and placement); each point's ratios stay those of its own run."""
    out = json.loads(json.dumps(docs[0]))
    for d in docs[1:]:
        out["results"].setdefault("scale", {}).update(d["results"].get("scale", {}))
        for key in ("units", "samples", "ratios"):
            out[key].update({k: v for k, v in d[key].items() if k.startswith("scale.")})
        for note in d["notes"].get("scale", []):
            if note not in out["notes"].setdefault("scale", []):
                out["notes"]["scale"].append(note)
        out["errors"].update(d["errors"])
    out["params"]["runs_merged"] = [{"when": d["when"], "git": d["git"], "seconds": d["params"].get("seconds"),
                                     "load_average_at_start": d["machine"].get("load_average_at_start"),
                                     "points": sorted({(m, n) for m, ns in curve(d).items() for n in ns})}
                                    for d in docs]
    return out


TABLE = [("chunks/s ours (step)", "ours_chunks_per_s", "ours_step_chunks_per_s"),
         ("chunks/s raw add (step)", "raw_chunks_per_s", "raw_step_chunks_per_s"),
         ("hybrid p50 / p95 ms", "retrieve_hybrid_p50_ms", "retrieve_hybrid_p95_ms"),
         ("dense p50 ms", "retrieve_dense_p50_ms", None),
         ("raw query p50 / p95 ms", "retrieve_raw_p50_ms", "retrieve_raw_p95_ms"),
         ("extractive ask p50 / p95 ms", "ask_extractive_p50_ms", "ask_extractive_p95_ms"),
         ("keyword index MB", "keyword_index_mb", None),
         ("Chroma on disk MB", "chroma_mb", None),
         ("process RSS MB", "rss_end_mb", None),
         ("chroma server RSS MB", "server_rss_end_mb", None)]


def table(doc: dict) -> str:
    """The curve as a Markdown table (rows: metrics; columns: placement and size), for bench/README.md."""
    data = curve(doc)
    cols = [(m, n) for m in MODES for n in sorted(data.get(m, {}))]

    def cell(m, n, a, b):
        v = data[m][n]
        if a not in v:
            return "–"
        f = lambda x: f"{x:,.0f}" if x >= 100 else f"{x:.1f}"  # noqa: E731
        if not b or b not in v:
            return f(v[a])
        return f"{f(v[a])} ({f(v[b])})" if "step" in b else f"{f(v[a])} / {f(v[b])}"

    head = "| | " + " | ".join(f"{_label(n)} {m}" for m, n in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for label, a, b in TABLE:
        if any(a in data[m][n] for m, n in cols):
            lines.append(f"| {label} | " + " | ".join(cell(m, n, a, b) for m, n in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale")
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("grow", help="measure one placement at growing sizes (what `python -m bench --only scale` "
                                     "runs per placement)")
    pp.add_argument("spec", type=Path)
    sub.add_parser("cosine", help="measure COPY_COSINE")
    pm = sub.add_parser("merge", help="combine scale results files into one (and draw its curve)")
    pm.add_argument("out", type=Path)
    pm.add_argument("inputs", type=Path, nargs="+")
    pt = sub.add_parser("table", help="print a scale results file as the Markdown table of bench/README.md")
    pt.add_argument("results", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "table":
        print(table(json.loads(args.results.read_text())))
        return 0
    if args.cmd == "merge":
        from bench import report

        doc = merge([json.loads(f.read_text()) for f in args.inputs])
        print(f"wrote {args.out} and {report.write(doc, args.out)}")
        return 0
    if args.cmd == "cosine":
        print(json.dumps(measure_copy_cosine()))
        return 0
    spec = json.loads(args.spec.read_text())
    for result in grow(spec["sizes"], spec["mode"], Path(spec["files_dir"]), Path(spec["work"]), spec["questions"],
                       spec["threads"], Path(spec["cache_path"]), spec.get("cosine", COPY_COSINE),
                       spec.get("queries", QUERIES), spec.get("asks", ASKS)):
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    for _var in [v for v in os.environ if v.startswith("GROUNDQA_")]:
        del os.environ[_var]
    sys.exit(main())
