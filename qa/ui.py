"""The Gradio chat UI: answers stream in, then are replaced by the verified answer; a sources
panel shows each cited passage with its quote highlighted; uploads add documents."""

from __future__ import annotations

import hmac
import html
import re
import os
from pathlib import Path

from qa.answers import Answer
from qa.errors import QAError
from qa.uploads import UPLOAD_TYPES, safe_upload_name  # noqa: F401  (safe_upload_name re-exported)

CSS = """
.gq-source { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0; }
.gq-source h4 { margin: 0 0 6px 0; font-size: 0.95em; }
.gq-source .gq-passage { font-size: 0.92em; line-height: 1.45; color: #444; white-space: pre-wrap; overflow-wrap: anywhere; }
.gq-source .gq-section { color: #0b5394; font-size: 0.9em; font-weight: normal; }
.gq-source mark { background: #fff3a3; color: #111; padding: 0 2px; border-radius: 3px; }
.gq-removed { color: #8a1f11; text-decoration: line-through; }
.gq-muted { color: #666; font-size: 0.9em; }
.gq-removed-note { color: #8a1f11; font-size: 0.9em; }
"""

def error_text(exc: Exception) -> str:
    """The one place the UI turns errors into words."""
    if isinstance(exc, QAError):
        return f"⚠️ {exc.message}"
    return f"⚠️ Something went wrong: {exc}"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~])")
_AUTOLINK = re.compile(r"(?i)\b((?:https?|ftp)):(//)|\b(www)\.")  # what GitHub-flavoured Markdown turns into links


def as_text(text: str) -> str:
    """Document text shown as text in the chat's Markdown: every Markdown/HTML character escaped (a quoted
    '# comment' is not a heading, '__main__' is not bold, '<img src=...>' fetches nothing, '[x](url)' and a bare
    'http://...' or 'www.' address are not links), line breaks kept."""
    unlink = lambda m: f"{m.group(1)}\\:\\/\\/" if m.group(1) else f"{m.group(3)}\\."  # noqa: E731
    lines = [_AUTOLINK.sub(unlink, _MD_SPECIAL.sub(r"\\\1", line)).replace("  ", " &nbsp;") for line in text.split("\n")]
    return "  \n".join(lines)


def answer_markdown(answer: Answer) -> str:
    text = as_text(answer.answer)
    if answer.refused:
        text = f"**{text}**"
    elif answer.short_answer:
        text = f"**{as_text(answer.short_answer)}**\n\n{text}"
    if not answer.refused:
        unsupported = [s for s in answer.sentences if not s.supported]
        shown = [s for s in unsupported if sum(w.strip(".,;:!?()").isalpha() for w in s.text.split()) >= 3]
        off_topic = [s for s in answer.sentences if s.supported and not s.relevant]
        if unsupported and "[unsupported]" not in answer.answer:
            n = len(unsupported)
            note = f"Removed {n} sentence{'s' if n > 1 else ''} of the model's answer that your documents do not support"
            if shown:  # whole sentences only, never fragments
                note += ": " + " ".join(f"~~{as_text(s.text)}~~ ({s.reason.replace('_', ' ')})" if s.reason
                                        else f"~~{as_text(s.text)}~~" for s in shown)
            text += f"\n\n<span class='gq-removed-note'>{note}.</span>"
        if off_topic:
            items = " ".join(f"~~{as_text(s.text)}~~" for s in off_topic)
            text += f"\n\n<span class='gq-muted'>Left out, supported but off the question: {items}</span>"
    if answer.fallback:
        text += f"\n\n<span class='gq-muted'>The {answer.generator} model's answer was not supported; this is the best-supported passage sentence.</span>"
    return text


def turn_markdown(answer: Answer) -> str:
    """A conversation turn's answer, with what was searched for when the follow-up was rewritten."""
    text = answer_markdown(answer)
    searched = answer.standalone_question
    if searched and searched != answer.question:
        text += f"\n\n<span class='gq-muted gq-searched'>Searched for: {as_text(searched)}</span>"
    return text


def sources_html(answer: Answer | None) -> str:
    if answer is None:
        return "<p class='gq-muted'>Sources of the answer appear here, with the quoted words highlighted.</p>"
    if not answer.citations:
        return "<p class='gq-muted'>No sources: the answer was not found in your documents.</p>"
    by_n = {p.n: p for p in answer.passages}
    blocks = []
    for c in answer.citations:
        p = by_n.get(c.passage)
        if p is not None and p.start <= c.start and c.end <= p.end:
            a, b = c.start - p.start, c.end - p.start
            body = f"{html.escape(p.text[:a])}<mark>{html.escape(p.text[a:b])}</mark>{html.escape(p.text[b:])}"
        else:
            body = f"<mark>{html.escape(c.quote)}</mark>"
        blocks.append(
            f"<div class='gq-source' data-citation='{c.n}'><h4>[{c.n}] {html.escape(Path(c.source).name)}"
            + (f" <span class='gq-section'>{html.escape(c.section)}</span>" if getattr(c, "section", None) else "") +
            f" <span class='gq-muted'>{f'p. {c.page}, ' if c.page is not None else ''}chars {c.start}–{c.end}</span></h4><div class='gq-passage'>{body}</div></div>"
        )
    return "\n".join(blocks)


def build(service):
    import gradio as gr

    config = service.config

    def collections_update(selected: str | None = None):
        names = service.collections()
        value = selected or (config.collection if config.collection in names else (names[0] if names else config.collection))
        return gr.update(choices=names or [config.collection], value=value)

    # One chat is one saved conversation (qa/conversations.py): `state` holds its id, its collection and which
    # chat message holds which answer (for the thumbs).
    def conversations_update():
        items = [(f"{c.title or '(empty)'} · {c.turns} turn{'s' if c.turns != 1 else ''}", c.id)
                 for c in service.conversations() if c.turns]
        return gr.update(choices=items, value=None)

    def ask(question, history, collection, state):
        history = list(history or [])
        state = dict(state or {})
        history.append({"role": "user", "content": question or ""})
        history.append({"role": "assistant", "content": "…"})
        yield history, sources_html(None), "", state, gr.update()
        try:
            name = collection or config.collection
            if not state.get("id") or state.get("collection") != name:
                conv = service.conversation(collection=name)
                state = {"id": conv.id, "collection": name, "answers": {}}
            else:
                conv = service.conversation(state["id"])
            draft = ""
            for event in conv.ask_stream(question):
                if event.kind == "token":
                    draft += event.text
                    history[-1] = {"role": "assistant", "content": f"*{draft}* ⏳ checking against your documents…"}
                    yield history, sources_html(None), "", state, gr.update()
                else:
                    history[-1] = {"role": "assistant", "content": turn_markdown(event.answer)}
                    state["answers"] = {**state.get("answers", {}), len(history) - 1: event.answer.answer_id}
                    yield history, sources_html(event.answer), "", state, conversations_update()
        except Exception as exc:  # shown to the user, never swallowed silently
            history[-1] = {"role": "assistant", "content": error_text(exc)}
            yield history, sources_html(None), question, state, gr.update()

    def new_conversation():
        return [], sources_html(None), "", None, conversations_update(), ""

    def reopen(conversation_id):
        if not conversation_id:
            return gr.update(), gr.update(), gr.update(), gr.update()
        try:
            conv = service.conversation(conversation_id)
            history, answers = [], {}
            turns = conv.turns
            for t in turns:
                history.append({"role": "user", "content": t.question})
                history.append({"role": "assistant", "content": turn_markdown(t.answer)})
                answers[len(history) - 1] = t.answer.answer_id
            state = {"id": conv.id, "collection": conv.collection, "answers": answers}
            return history, sources_html(turns[-1].answer if turns else None), state, conv.collection
        except Exception as exc:
            return [{"role": "assistant", "content": error_text(exc)}], sources_html(None), None, gr.update()

    def rate(data: gr.LikeData, state):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        answer_id = (state or {}).get("answers", {}).get(index)
        if answer_id is None or data.liked not in (True, False):
            return ""
        try:
            service.feedback(answer_id, "up" if data.liked else "down")
        except Exception as exc:
            return error_text(exc)
        return "Thanks: your rating is saved with the answer (`qa feedback export` makes it an eval case)."

    rate.__annotations__["data"] = gr.LikeData  # Gradio finds the event data by its type (this module's are strings)

    def upload(files, collection):
        if not files:
            return "No files chosen.", collections_update(collection)
        name = collection or config.collection
        try:
            paths = [Path(f if isinstance(f, str) else f.name) for f in files]
            report, saved = service.add_uploads([(p.name, p.read_bytes()) for p in paths], name)
            status = (f"Added to **{name}**: {report.added} new, {report.updated} updated, "
                      f"{report.unchanged} unchanged ({report.chunks} chunks).")
        except Exception as exc:
            status = error_text(exc)
        return status, collections_update(name)

    with gr.Blocks(title="groundqa") as demo:
        gr.Markdown("## groundqa\nAnswers from your own documents. Every quote is checked against the text it cites.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Answers", height=420, elem_id="chat")
                question = gr.Textbox(label="Question", placeholder="How did the US vote?", lines=1)
                with gr.Row():
                    ask_btn = gr.Button("Ask", variant="primary")
                    new_btn = gr.Button("New conversation")
                rated = gr.Markdown(elem_id="rated")
                state = gr.State(None)
            with gr.Column(scale=2):
                collection = gr.Dropdown(label="Collection", choices=[config.collection], value=config.collection,
                                         allow_custom_value=True)
                earlier = gr.Dropdown(label="Earlier conversations", choices=[], value=None, elem_id="earlier")
                sources = gr.HTML(sources_html(None), label="Sources", elem_id="sources")
                files = gr.File(label="Add documents (.txt, .md, .rst, .pdf, .docx, .html)", file_count="multiple", file_types=list(UPLOAD_TYPES))
                upload_status = gr.Markdown()
        outputs = [chat, sources, question, state, earlier]
        ask_btn.click(ask, [question, chat, collection, state], outputs)
        question.submit(ask, [question, chat, collection, state], outputs)
        new_btn.click(new_conversation, None, [chat, sources, question, state, earlier, rated])
        earlier.select(reopen, earlier, [chat, sources, state, collection])
        chat.like(rate, state, rated)
        demo.load(conversations_update, None, earlier)
        files.upload(upload, [files, collection], [upload_status, collection])
        demo.load(collections_update, None, collection)
    return demo


def key_auth(api_key: str | None):
    """Gradio `auth` for GROUNDQA_API_KEY: any user name, the key as password (constant-time check)."""
    if not api_key:
        return None
    expected = api_key.encode()
    return lambda username, password: hmac.compare_digest((password or "").encode(), expected)


AUTH_MESSAGE = "This groundqa server needs its API key: enter any user name and the key as the password."


def launch(service, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build(service)
    auth = key_auth(service.config.api_key)
    if auth is not None:
        from qa.http.security import ui_guard_middleware  # every UI route behind the key; logins throttled

        kwargs.setdefault("auth", auth)
        kwargs.setdefault("auth_message", AUTH_MESSAGE)
        kwargs.setdefault("app_kwargs", {"middleware": ui_guard_middleware(service.config)})
    demo.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, css=CSS,
                                                   max_file_size=service.config.max_upload_bytes, **kwargs)
