"""Pydantic models of the HTTP contract: request bodies and response bodies (what /openapi.json documents)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError


# --- request bodies ----------------------------------------------------------------------------------
# Types are strict: "5" is not 5 and null is not text. Invalid Unicode never reaches a model: the
# ValidText middleware (qa/http/security.py) rejects it with 400 first.
def _named_collection(name: str) -> str:
    if name == "":
        raise PydanticCustomError("empty_collection", "an empty collection name; leave the field out (or null) "
                                                      "for the server's default collection")
    return name


CollectionName = Annotated[StrictStr, AfterValidator(_named_collection)]  # "" -> 400 invalid_collection_name


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(description="The question, in plain words.")
    collection: CollectionName | None = Field(None, description="Collection to search (default: the server's).")
    top_k: StrictInt | None = Field(None, description="Passages to retrieve, 1-50.")
    generator: StrictStr | None = Field(None, description="local, openai, extractive (default: the server's).")
    trace: StrictBool = Field(False, description="Return the answer's `trace`: retrieved chunk ids and their scores, "
                                                "hops, the refusal decision, sentence support, raw text, stage timings.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: StrictStr
    content: StrictStr | list[dict[str, Any]] | None = Field(
        None, description="Text, or a list of parts of which those {\"type\": \"text\", \"text\": ...} are read.")

    @model_validator(mode="after")
    def _content(self) -> "ChatMessage":
        if self.role == "user" and self.content is None:
            raise PydanticCustomError("null_content", "a user message needs content (text, or a list of text parts), "
                                                      "not null")
        if isinstance(self.content, list) and any(p.get("type") == "text" and not isinstance(p.get("text"), str)
                                                  for p in self.content):
            raise PydanticCustomError("string_type", "a text part needs \"text\" as a string")
        return self


class ChatRequest(BaseModel):
    """OpenAI's chat-completions body. The question is the last user message; sampling options are accepted
    and ignored (answers are verified, not sampled). Extra fields: `collection`, `top_k`."""

    model_config = ConfigDict(extra="allow")
    model: StrictStr = "groundqa"
    messages: list[ChatMessage]
    stream: StrictBool = False
    collection: CollectionName | None = None
    top_k: StrictInt | None = None


# --- response bodies ---------------------------------------------------------------------------------
# Every response model allows extra keys: the wire JSON is what the dataclasses' to_dict() produce, and a
# field added there is passed through (and should be declared here to be documented), never stripped.
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_input, not_found, unauthorized.")
    message: str = Field(description="What went wrong and how to fix it.")


class ErrorBody(BaseModel):
    """Every error, whatever its status."""

    error: ErrorDetail


class Citation(_Open):
    n: int = Field(description="The citation's number, as [n] in the answer text.")
    source: str = Field(description="The document's source (file path or upload name).")
    chunk_id: str
    quote: str = Field(description="The quoted text, exactly document_text[start:end].")
    start: int = Field(description="Character offset of the quote in its document.")
    end: int = Field(description="Character offset just past the quote.")
    doc_id: str = ""
    page: int | None = Field(None, description="Page where the quote starts (paged documents such as PDFs).")
    section: str | None = Field(None, description="Section path of the quoted passage (\"A › B\"), null if none.")


class Sentence(_Open):
    """One sentence of the generator's answer and the verifier's verdict on it."""

    text: str
    citations: list[int]
    support: float = Field(description="Similarity prior of the best supporting quote, 0..1.")
    supported: bool
    relevant: bool = Field(True, description="Whether it addresses the question.")
    reason: str = Field("", description="\"supported\" or why not (role_mismatch, negation, not_found, ...).")


class Hop(_Open):
    """One retrieval: the query searched, the bridge entity it came from (later hops), the passages found."""

    query: str
    bridge: str | None = None
    passages: list[int] = []


class TracePassage(_Open):
    """A retrieved chunk, in rank order, and the scores that ranked it."""

    n: int
    chunk_id: str
    doc_id: str
    source: str
    dense: float | None = Field(description="Cosine similarity of the question and the chunk.")
    bm25: float | None = Field(description="BM25 score; null when keyword search did not return it.")
    fused: float | None = Field(description="The hybrid fusion score the ranking followed; null outside hybrid.")
    cited: bool


class TraceDecision(_Open):
    """The refusal decision, made before generation (qa/decisions.py)."""

    answerable: bool
    probability: float = Field(description="The refusal model's probability that the passages answer.")
    rule: str | None = Field(description="The refusal rule that fired, null when answerable.")
    reason: str | None = Field(description="The answer's refusal_reason, null when answered.")
    unmentioned: list[str]
    features: dict[str, float] = Field(description="The refusal model's inputs.")


class Trace(_Open):
    """How one answer was made (qa/trace.py); only when the request asks for it (trace: true)."""

    answer_id: str
    collection: str
    generator: str
    retrieval: str = Field(description="hybrid/relative, hybrid/rrf, dense or bm25.")
    passages: list[TracePassage]
    hops: list[Hop]
    decision: TraceDecision
    sentences: list[dict[str, Any]] = Field(description="Each sentence's support and reason, with its chunk_ids.")
    citations: list[dict[str, Any]] = Field(description="{n, chunk_id, passage, start, end} per citation.")
    raw_text: str = Field(description="What the generator wrote, before verification.")
    fallback: str | None
    timings_ms: dict[str, float] = Field(description="Milliseconds: retrieve, decide, generate (0 if skipped), "
                                                     "verify, total.")


class Answer(_Open):
    """The answer contract of /v1/ask, the `answer` event of /v1/ask/stream and `groundqa` of chat completions."""

    answer_id: str = Field("", description="Content hash of the question, collection, generator, answer and quotes.")
    question: str
    answer: str = Field(description="The verified answer (or the refusal), citing quotes as [n].")
    short_answer: str | None = Field(None, description="The answer's phrase from a cited quote (\"against it\", \"Yes\").")
    refused: bool
    citations: list[Citation]
    generator: str
    timings_ms: dict[str, float] = Field(description="Milliseconds per stage (retrieve, generate, verify, ...).")
    grounding: float = Field(description="Share of the answer's sentences the documents support, 0..1.")
    sentences: list[Sentence]
    collection: str
    raw_answer: str = Field("", description="What the generator wrote, before verification.")
    fallback: str | None = Field(None, description="Set when the service replaced the generator's answer.")
    answerability: float = Field(0.0, description="The refusal model's probability that the passages answer.")
    refusal_reason: str | None = Field(None, description="Why it refused (qa/decisions.py), null when answered.")
    hops: list[Hop] = Field([], description="The retrievals made, first one first.")
    standalone_question: str | None = Field(None, description="In a conversation: the turn rewritten to stand alone.")
    conversation_id: str | None = Field(None, description="The conversation the turn belongs to.")
    disagreement: bool = Field(False, description="Two documents tell the asked fact otherwise: the answer says "
                               "'Sources disagree:' and cites both (qa/disagreement.py).")
    trace: Trace | None = Field(None, description="Only when asked for (`\"trace\": true`).")


class DocumentRef(_Open):
    """A document just uploaded."""

    id: str
    name: str
    source: str
    title: str


class UploadReport(_Open):
    """What an upload added (the ingest report) and the documents it saved."""

    collection: str
    added: int
    updated: int
    unchanged: int
    removed: int
    failed: int
    chunks: int = Field(description="Chunks embedded and written by this upload.")
    seconds: float
    sources: list[str]
    errors: list[dict[str, Any]] = Field(description="{\"source\", \"error\"} per file that failed.")
    documents: list[DocumentRef]


class Document(_Open):
    id: str = Field(description="16 hex characters; DELETE /v1/documents/{id} removes it.")
    source: str
    title: str
    chunks: int


class DocumentList(_Open):
    collection: str
    documents: list[Document]


class Deleted(_Open):
    deleted: str = Field(description="The id of the document deleted.")
    collection: str
    sources: list[str]
    files_removed: list[str] = Field(description="Uploaded files removed from the server's home.")


class Collection(_Open):
    name: str
    chunks: int


class CollectionList(_Open):
    collections: list[Collection]


class ChatChoiceMessage(_Open):
    role: str
    content: str


class ChatChoice(_Open):
    index: int
    message: ChatChoiceMessage
    finish_reason: str | None
    logprobs: Any = None


class ChatCompletion(_Open):
    """OpenAI's chat.completion, plus `citations` and `groundqa` (the /v1/ask answer)."""

    id: str
    object: str
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[Citation]
    groundqa: Answer


class Model(_Open):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(_Open):
    object: str
    data: list[Model]


class Health(_Open):
    status: str


class Ready(_Open):
    status: str
    generator: str | None = None
    store: str | None = None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error body for each status."""
    words = {400: "Invalid input (bad JSON, Unicode or option)", 401: "Missing or wrong API key",
             404: "Not found", 405: "Method not allowed", 413: "Too large", 415: "Unsupported file type",
             422: "Invalid request body", 429: "Too many failed authentications", 500: "Unexpected server error",
             502: "The LLM server failed", 503: "Not ready: models loading, store or LLM server unreachable"}
    return {s: {"model": ErrorBody, "description": words.get(s, "Error")} for s in statuses}


V1_ERRORS = error_responses(400, 401, 404, 413, 422, 429, 500, 503)
ANSWER_ERRORS = error_responses(502)  # the LLM server failed (routes that generate)
