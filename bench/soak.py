"""Soak: concurrent extractive questions against a real `qa serve` while `qa ingest` writes through it (issue 14).

    python -m bench.soak [--clients 20] [--seconds 60] [--files 200] [--out bench/results-soak.json]

Starts `qa serve --no-ui --generator extractive` on a free loopback port with a temporary home seeded with seeds/,
then `--clients` threads ask in a loop for `--seconds` while, a few seconds in, `qa ingest` of `--files` small files
runs in another process (the CLI finds the server's lock and sends the ingest to it). Reports the asks, every
non-200 (the figure that must be 0), latency percentiles and the server's resident memory (start, peak, end).
It hogs the CPU: run it alone."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("How did the US vote?", "What did the UN General Assembly adopt?", "Who voted against the resolution?")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def soak(clients: int, seconds: float, files: int) -> dict:
    import httpx

    work = Path(tempfile.mkdtemp(prefix="groundqa-soak-"))
    home, port = work / "home", _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GROUNDQA_")}, "GROUNDQA_HOME": str(home),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--no-ui", "--port", str(port),
                               "--generator", "extractive", "--seed", str(ROOT / "seeds")],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("the server did not become ready in 300 s")
        docs = work / "docs"
        docs.mkdir()
        for i in range(files):
            (docs / f"note-{i:03d}.txt").write_text(f"Note {i}: the harbour crane number {i} lifts {i * 7} tonnes.\n")

        latencies: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()
        stop_at = time.time() + seconds

        def client(n: int) -> None:
            with httpx.Client(timeout=120) as http:
                i = n
                while time.time() < stop_at:
                    t0 = time.perf_counter()
                    try:
                        status = str(http.post(f"{base}/v1/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                                     .status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    ms = (time.perf_counter() - t0) * 1000
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                        if status == "200":
                            latencies.append(ms)
                    i += 1

        rss = [_rss_mb(server.pid)]
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        time.sleep(min(5.0, seconds / 4))
        t_ingest = time.perf_counter()
        cli = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "ingest", str(docs), "--json"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ingest_s = None
        while any(t.is_alive() for t in threads):
            rss.append(_rss_mb(server.pid))
            if ingest_s is None and cli.poll() is not None:
                ingest_s = time.perf_counter() - t_ingest
            time.sleep(1.0)
        out, err = cli.communicate(timeout=600)
        ingest_s = ingest_s or (time.perf_counter() - t_ingest)
        report = json.loads(out) if cli.returncode == 0 else {}
        asks = sum(statuses.values())
        return {
            "clients": clients, "seconds": seconds, "asks": asks, "asks_per_s": round(asks / seconds, 1),
            "errors": asks - statuses.get("200", 0), "statuses": statuses,
            "p50_ms": round(_percentile(latencies, 50), 1), "p95_ms": round(_percentile(latencies, 95), 1),
            "p99_ms": round(_percentile(latencies, 99), 1),
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
            "rss_mb": {"start": round(rss[0]), "peak": round(max(rss)), "end": round(rss[-1])},
            "cli_ingest": {"returncode": cli.returncode, "added": report.get("added"), "seconds": round(ingest_s, 1),
                           "through_server": "sending the request to it" in err},
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[1])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--files", type=int, default=200)
    p.add_argument("--out", type=Path, help="also write the result here (JSON)")
    args = p.parse_args(argv)
    result = soak(args.clients, args.seconds, args.files)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["errors"] == 0 and result["cli_ingest"]["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
