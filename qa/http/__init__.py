"""The HTTP API: groundqa for internal tools, an OpenAI-compatible chat endpoint, health checks, and the
Gradio UI mounted at `/` in the same process.

    from qa.http import create_app
    app = create_app(qa.open())        # then: uvicorn.run(app), or `qa serve`

Layout: app.py builds the app; routes/ holds one APIRouter per area (listed in routes.ROUTERS); deps.py the
shared dependencies (get_service, require_key); models.py the request/response models; errors.py the one
error mapping (`{"error": {"code": str, "message": str}}` with the status of the class in index/errors.py);
security.py the key check and limits; streaming.py the SSE plumbing. Model calls block, so they run in
worker threads; the event loop only moves bytes.
"""

from qa.http.app import create_app

__all__ = ["create_app"]
