"""Every router of the HTTP API; qa/http/app.py includes them in this order. Add a router with one line."""

from qa.http.routes import admin, ask, collections, documents, health, openai
from qa.http.routes import conversations, feedback
from qa.http.routes import metrics

ROUTERS = [
    health.router,
    admin.router,
    ask.router,
    documents.router,
    collections.router,
    openai.router,
    conversations.router,
    feedback.router,
    metrics.router,
]
