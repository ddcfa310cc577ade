"""groundqa's assembly point: configuration, services, the `qa` command, the HTTP app and the UI.

    python app.py            serve the HTTP API and the web UI on http://127.0.0.1:7860 (what `make run` does)
    qa serve                 the HTTP API (/v1, /docs) and the web UI at / (default port 8000)
    qa ingest PATH...        index files or folders (--sync also removes documents whose files are gone)
    qa remove SOURCE...      remove documents from every index
    qa reindex               re-embed a collection after changing the embedding model
    qa repair                rebuild a collection's damaged manifest or store from the intact side
    qa ask "QUESTION"        answer with verified citations (--json for the JSON contract, --trace for how)
    qa chat                  chat in the terminal; follow-ups resolved against earlier turns (saved conversations)
    qa feedback export       rated answers as an eval dataset (qa eval --dataset FILE --docs DOCS)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import qa  # noqa: E402
from qa.config import GENERATORS, RETRIEVAL_MODES, Config  # noqa: E402
from qa.errors import QAError  # noqa: E402


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="where groundqa keeps its index (default: $GROUNDQA_HOME or ~/.local/share/groundqa)")
    p.add_argument("--collection", help="collection name (default: default)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8001")
    p.add_argument("--embed-model", help="sentence-transformers model folder or name")
    p.add_argument("--threads", type=int, help="CPU threads for the models (default 2)")


def _generation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generator", help=f"one of {', '.join(GENERATORS)} (default local)")
    p.add_argument("--top-k", type=int, help="passages to retrieve (default 4)")
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, help="hybrid (BM25 + dense, the default), dense or bm25")
    p.add_argument("--llm-model", help="path to a GGUF model for the local generator")
    p.add_argument("--openai-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--openai-model", help="model name on that endpoint")
    p.add_argument("--keep-unsupported", action="store_true", default=None,
                   help="keep answer sentences that the documents do not support, marked [unsupported]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Answers from your own documents, with verified citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index files or folders (.txt, .md, .html, .pdf, .docx)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--sync", action="store_true",
                   help="also remove documents that came from these folders and whose files are gone")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _common(p)

    p = sub.add_parser("remove", help="remove documents (by source, file path or document id) from every index")
    p.add_argument("targets", nargs="+", metavar="SOURCE")
    p.add_argument("--json", action="store_true", help="print the removed sources as JSON")
    _common(p)

    p = sub.add_parser("reindex", help="re-embed a collection with the configured embedding model")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _common(p)

    p = sub.add_parser("repair", help="make a collection's manifest (keyword index) and vector store agree again")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _common(p)

    p = sub.add_parser("ask", help="ask a question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p.add_argument("--trace", action="store_true", help="also show how it was answered: retrieval scores, hops, "
                                                        "the refusal decision, sentence support, raw text, timings")
    p.add_argument("--conversation", metavar="ID", help="ask as the next turn of a saved conversation (`new` starts "
                                                        "one; its id is in the answer's conversation_id)")
    _common(p)
    _generation(p)

    p = sub.add_parser("chat", help="chat in the terminal: follow-ups resolved against earlier turns (/new, "
                                    "/sources, /quit)")
    p.add_argument("--conversation", metavar="ID", help="continue a saved conversation (default: a new one)")
    _common(p)
    _generation(p)

    p = sub.add_parser("feedback", help="feedback given on answers: export it as eval cases, or rate an answer")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    fp = fsub.add_parser("export", help="write rated answers as an eval dataset (JSONL) for `qa eval --dataset FILE`")
    fp.add_argument("--out", required=True, metavar="FILE.jsonl")
    _common(fp)
    fp = fsub.add_parser("rate", help="rate an answer given in a conversation (by its answer_id)")
    fp.add_argument("answer_id")
    fp.add_argument("rating", choices=("up", "down"))
    fp.add_argument("--comment")
    _common(fp)

    p = sub.add_parser("collections", help="list collections")
    _common(p)

    p = sub.add_parser("documents", help="list the documents in a collection")
    _common(p)

    p = sub.add_parser("serve", help="serve the HTTP API (/v1, OpenAPI docs at /docs) and the web UI at /")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--seed", nargs="*", default=None, help="index these paths first if the collection is empty")
    p.add_argument("--no-ui", dest="ui", action="store_false", help="serve the API only, without the web UI")
    _common(p)
    _generation(p)

    p = sub.add_parser("ui", help="start the web UI alone (Gradio)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--seed", nargs="*", default=None, help="index these paths first if the collection is empty")
    _common(p)
    _generation(p)

    for name, help_ in (("eval", "run the evaluation suite"), ("calibrate", "fit the refusal model's thresholds")):
        p = sub.add_parser(name, help=help_, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def config_from(args: argparse.Namespace) -> Config:
    keys = ("home", "collection", "chroma_url", "embed_model", "threads", "generator", "top_k", "retrieval", "llm_model",
            "openai_base_url", "openai_model", "keep_unsupported")
    return Config.load(**{k: getattr(args, k, None) for k in keys})


def cmd_ingest(args, service) -> int:
    server = _writer(service.config)
    if server is not None:
        from index.ingest import IngestReport

        paths = [str(Path(p).expanduser().resolve()) for p in args.paths]
        got = _forward(server, service.config, "/v1/ingest",
                       {"paths": paths, "collection": service.config.collection, "sync": args.sync})
        report = IngestReport(**{k: got[k] for k in IngestReport.__dataclass_fields__ if k in got})
    else:
        report = service.ingest(args.paths, progress=_progress("ingesting"), sync=args.sync)
    for failure in report.errors:
        print(f"skipped {failure['source']}: {failure['error']}", file=sys.stderr)
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.summary())
    if report.failed:
        done = report.added + report.updated + report.unchanged
        print(f"error: {report.failed} file(s) could not be ingested (see above); the other {done} are indexed.",
              file=sys.stderr)
        return 2
    return 0


def cmd_remove(args, service) -> int:
    server = _writer(service.config)
    if server is not None:
        targets = [str(Path(t).expanduser().resolve()) if Path(t).expanduser().exists() else t for t in args.targets]
        removed = _forward(server, service.config, "/v1/remove",
                           {"targets": targets, "collection": service.config.collection})["sources"]
    else:
        removed = service.remove(args.targets)
    if args.json:
        print(json.dumps({"removed": len(removed), "sources": removed}, ensure_ascii=False))
    else:
        for source in removed:
            print(f"removed {source}")
    return 0


def _collection_job(args, service, route: str, cls, run) -> int:
    """Re-embed or repair a collection: sent to the running server when one holds the home, else done here;
    `cls` is the report's dataclass."""
    server = _writer(service.config)
    if server is not None:
        got = _forward(server, service.config, route, {"collection": service.config.collection})
        report = cls(**{k: got[k] for k in cls.__dataclass_fields__ if k in got})
    else:
        report = run(progress=_progress("re-embedding"))
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.summary())
    return 0


def cmd_reindex(args, service) -> int:
    from index.ingest import IngestReport

    return _collection_job(args, service, "/v1/reindex", IngestReport, service.reindex)


def cmd_repair(args, service) -> int:
    from index.ingest import RepairReport

    return _collection_job(args, service, "/v1/repair", RepairReport, service.repair)


def _writer(config: Config):
    """The live `qa serve` holding this home (index/locks.py), which must make every write to its embedded
    store (Chroma's embedded mode is single-process); None when no server holds it. A `qa ui` cannot take
    writes from another process: ServerRunning says what to do."""
    from index.locks import ServerLock
    from qa.errors import ServerRunning

    server = ServerLock(config.home).holder()
    if server is not None and server.kind != "serve":
        raise ServerRunning(f"{server.describe()} holds the home {config.home} and cannot take writes from another "
                            "process. Add the files in its web UI, or stop it and run this command again.")
    return server


def _forward(server, config: Config, route: str, body: dict) -> dict:
    """Send a write to the running server and return its JSON answer; its errors come back as QAErrors."""
    import httpx

    from qa.errors import ServerRunning

    print(f"groundqa: {server.describe()} serves this home; sending the request to it", file=sys.stderr)
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    try:
        response = httpx.post(server.url + route, json=body, headers=headers,
                              timeout=httpx.Timeout(None, connect=10.0))
    except httpx.HTTPError as exc:
        raise ServerRunning(f"{server.describe()} holds the home {config.home} but did not answer ({exc}). Wait for "
                            "it to start, or stop it and run this command again.") from exc
    try:
        got = response.json()
    except ValueError:
        got = {}
    if response.status_code >= 400:
        error = got.get("error") if isinstance(got, dict) else None
        exc = QAError(error["message"] if isinstance(error, dict) and "message" in error else
                      f"The server answered {response.status_code} to POST {route}.")
        exc.status = response.status_code
        exc.code = error.get("code", "server_error") if isinstance(error, dict) else "server_error"
        raise exc
    return got


def _progress(label: str):
    """A progress bar on stderr for long runs (shown after the first item; never mixed into --json stdout)."""
    from evals.progress import ProgressBar

    state: dict = {}

    def update(i: int, n: int, source: str) -> None:
        if n < 2:
            return
        if "bar" not in state:
            state["bar"] = ProgressBar(n, label)
        state["bar"].update(i - state["bar"].done, Path(source).name)

    return update


def cmd_ask(args, service) -> int:
    if args.conversation:
        conv = service.conversation(None if args.conversation == "new" else args.conversation)
        answer = conv.ask(args.question, trace=args.trace)
        if not args.json:
            searched = answer.standalone_question
            print(f"conversation {conv.id}" + (f", searched for: {searched}" if searched != answer.question else ""),
                  file=sys.stderr)
    else:
        answer = service.ask(args.question, trace=args.trace)
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else answer.to_text())
    if answer.trace is not None and not args.json:  # with --json the trace is in the JSON
        print("\n" + answer.trace.to_text())
    return 0


def cmd_collections(args, service) -> int:
    for name in service.collections():
        print(name)
    return 0


def cmd_documents(args, service) -> int:
    for d in service.documents():
        print(f"{d.doc_id}  {d.chunks:4d} chunks  {d.source}")
    return 0


def cmd_ui(args, service) -> int:
    from qa.ui import launch

    lock = _claim(service.config, args.host, args.port, "ui")
    try:
        if args.seed:
            ensure_seeded(service, args.seed)
        launch(service, host=args.host, port=args.port)
    finally:
        if lock is not None:
            lock.release()
    return 0


def cmd_serve(args, service) -> int:
    import uvicorn

    from qa.http import create_app

    lock = _claim(service.config, args.host, args.port, "serve")
    try:
        if args.seed:
            ensure_seeded(service, args.seed)
        app = create_app(service, ui=args.ui)
        where = f"http://{args.host}:{args.port}"
        print(f"groundqa: API {where}/v1 (docs {where}/docs)" + (f", UI {where}/" if args.ui else ""), file=sys.stderr)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=10)
    finally:
        if lock is not None:
            lock.release()
    return 0


def _claim(config: Config, host: str, port: int, kind: str):
    """Write the home's server lock (index/locks.py), so `qa ingest` & co. send their writes here; raises
    ServerRunning if another live server holds the home. A home that cannot be written is served anyway
    (questions work; /readyz reports the home), without the lock."""
    import signal

    from index.locks import ServerLock

    # uvicorn re-raises a SIGTERM after its graceful shutdown; as an exception it lets `finally` remove the lock.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    lock = ServerLock(config.home)
    try:
        lock.acquire(host, port, kind)
    except OSError as exc:
        print(f"groundqa: warning: cannot write {lock.path} ({exc}); `qa ingest` from another terminal "
              "will not find this server", file=sys.stderr)
        return None
    return lock


def ensure_seeded(service, paths: Sequence[str]) -> None:
    """Index `paths` into the configured collection if it does not exist or is empty."""
    name = service.config.collection
    if not service.collection_sizes().get(name):
        report = service.ingest(list(paths))
        print(f"indexed {report.added} document(s) into '{name}'", file=sys.stderr)


def cmd_chat(args, service) -> int:
    """An interactive chat: each line is a turn of one saved conversation, streamed, then verified."""
    try:
        import readline  # noqa: F401  (line editing and history for input())

        history_file = service.config.home / "chat_history"
        try:
            readline.read_history_file(history_file)
        except OSError:
            pass
    except ImportError:  # pragma: no cover (Windows)
        readline = None
    conv = service.conversation(args.conversation)
    tty = sys.stdout.isatty()
    dim, plain = ("\033[2m", "\033[0m") if tty else ("", "")
    print(f"groundqa chat: conversation {conv.id} on '{conv.collection}'. Ask a question; /new starts a new "
          "conversation, /sources shows the last answer's sources, /quit leaves.", flush=True)
    last = None
    try:
        while True:
            try:
                text = input("you> ").strip()
            except EOFError:
                print()
                return 0
            if not text:
                continue
            if text in ("/quit", "/exit", "/q"):
                return 0
            if text == "/new":
                conv, last = service.conversation(collection=conv.collection, generator=conv.generator), None
                print(f"New conversation {conv.id}.", flush=True)
                continue
            if text == "/sources":
                print(last.to_text().split("\n\nSources:\n", 1)[-1] if last and last.citations
                      else "No sources: ask a question first (or the last answer had none).", flush=True)
                continue
            if text.startswith("/"):
                print(f"Unknown command {text}: use /new, /sources or /quit.", flush=True)
                continue
            try:
                drafted = False
                for event in conv.ask_stream(text):
                    if event.kind == "token":
                        print(f"{dim}{event.text}{plain}", end="", flush=True)  # the draft, before verification
                        drafted = True
                        continue
                    last = event.answer
                    if drafted:
                        print("\n", flush=True)
                    if last.standalone_question and last.standalone_question != last.question:
                        print(f"Searched for: {last.standalone_question}")
                    n = len(last.citations)
                    print(f"groundqa> {last.lead_text()}" + (f"\n({n} source{'s' if n != 1 else ''}: /sources)"
                                                            if n else ""), flush=True)
            except QAError as exc:
                print(f"error: {exc.message}", flush=True)
    except KeyboardInterrupt:
        print()
        return 0
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history_file)
            except OSError:
                pass


def cmd_feedback(args, service) -> int:
    if args.feedback_command == "rate":
        stored = service.feedback(args.answer_id, args.rating, args.comment)
        print(f"rated {stored['rating']}: turn {stored['turn']} of conversation {stored['conversation_id']}")
        return 0
    items, skipped = service.feedback_items()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    print(f"wrote {len(items)} eval item(s) to {out}" + (f" ({skipped} refusal(s) rated down left out: no reference "
                                                         "answer)" if skipped else "")
          + (f"; score them with `qa eval --dataset {out} --docs YOUR-DOCS`" if items else
             "; rate answers first (thumbs in the UI, POST /v1/feedback, `qa feedback rate`)"))
    return 0


COMMANDS = {"ingest": cmd_ingest, "remove": cmd_remove, "reindex": cmd_reindex, "repair": cmd_repair, "ask": cmd_ask, "collections": cmd_collections, "documents": cmd_documents,
            "serve": cmd_serve, "ui": cmd_ui, "chat": cmd_chat, "feedback": cmd_feedback}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in ("eval", "calibrate"):
        # argparse's REMAINDER drops a leading --option, so these pass their arguments on untouched.
        args = argparse.Namespace(command=argv[0], rest=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        if args.command in ("eval", "calibrate"):
            from evals.cli import main as evals_main

            return evals_main([args.command, *args.rest])
        service = _service(args)
        return COMMANDS[args.command](args, service)
    except QAError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2 if exc.status < 500 else 1
    except OSError as exc:  # a fault no layer named (read-only home, full disk): one line, never a traceback
        from qa.errors import storage_error

        mapped = storage_error(exc, getattr(exc, "filename", None) or "the groundqa home")
        if mapped is None:
            raise
        print(f"error: {mapped.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _service(args):
    from qa.service import Service

    return Service(config_from(args))


if __name__ == "__main__":
    if len(sys.argv) == 1:  # `python app.py`: API and web UI on port 7860, seeded default collection
        sys.exit(main(["serve", "--port", "7860", "--seed", str(Path(__file__).resolve().parent / "seeds")]))
    sys.exit(main())
