"""groundqa's assembly point: configuration, services, the `qa` command, the HTTP app and the UI.

    python app.py            serve the HTTP API and the web UI on http://127.0.0.1:7860 (what `make run` does)
    qa serve                 the HTTP API (/v1, /docs) and the web UI at / (default port 8000)
    qa ingest PATH...        index files or folders (--sync also removes documents whose files are gone)
    qa remove SOURCE...      remove documents from every index
    qa reindex               re-embed a collection after changing the embedding model
    qa ask "QUESTION"        answer with verified citations (--json for the JSON contract)
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

    p = sub.add_parser("ask", help="ask a question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    _common(p)
    _generation(p)

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
    removed = service.remove(args.targets)
    if args.json:
        print(json.dumps({"removed": len(removed), "sources": removed}, ensure_ascii=False))
    else:
        for source in removed:
            print(f"removed {source}")
    return 0


def cmd_reindex(args, service) -> int:
    report = service.reindex(progress=_progress("re-embedding"))
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.summary())
    return 0


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
    answer = service.ask(args.question)
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else answer.to_text())
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

    if args.seed:
        ensure_seeded(service, args.seed)
    launch(service, host=args.host, port=args.port)
    return 0


def cmd_serve(args, service) -> int:
    import uvicorn

    from qa.http import create_app

    if args.seed:
        ensure_seeded(service, args.seed)
    app = create_app(service, ui=args.ui)
    where = f"http://{args.host}:{args.port}"
    print(f"groundqa: API {where}/v1 (docs {where}/docs)" + (f", UI {where}/" if args.ui else ""), file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=10)
    return 0


def ensure_seeded(service, paths: Sequence[str]) -> None:
    """Index `paths` into the configured collection if it does not exist or is empty."""
    name = service.config.collection
    if name not in service.collections() or service.store.count(name) == 0:
        report = service.ingest(list(paths))
        print(f"indexed {report.added} document(s) into '{name}'", file=sys.stderr)


COMMANDS = {"ingest": cmd_ingest, "remove": cmd_remove, "reindex": cmd_reindex, "ask": cmd_ask, "collections": cmd_collections, "documents": cmd_documents,
            "serve": cmd_serve, "ui": cmd_ui}


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
    except KeyboardInterrupt:
        return 130


def _service(args):
    from qa.service import Service

    return Service(config_from(args))


if __name__ == "__main__":
    if len(sys.argv) == 1:  # `python app.py`: API and web UI on port 7860, seeded default collection
        sys.exit(main(["serve", "--port", "7860", "--seed", str(Path(__file__).resolve().parent / "seeds")]))
    sys.exit(main())
