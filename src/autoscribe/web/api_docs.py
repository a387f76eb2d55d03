"""GET /docs: the API reference (Swagger UI over /openapi.json), entirely from the package.

Swagger UI is vendored (swagger-ui-dist, `make vendor`) under static/vendor/swagger-ui/ and started
by static/js/api-docs.js; FastAPI's own /docs and /redoc (scripts, styles and a favicon from CDNs)
are off. No request leaves the reader's machine for this server's address: the page's
Content-Security-Policy allows its own origin only, and the spec validator badge (which would
send the spec to validator.swagger.io) is off."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

# Swagger UI sets element styles from script (allowed) and draws its icons as data: SVG images.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    return render(request, "api_docs.html", {"openapi_url": request.app.openapi_url}, csp=DOCS_CSP)
