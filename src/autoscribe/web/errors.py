"""Web pages answer problems with pages: sign-in redirects, "restricted access", clear error
pages. API routes keep the JSON error shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from autoscribe.web.csrf import CsrfFailed
from autoscribe.web.deps import LoginRequired, PageError, RestrictedAccess
from autoscribe.web.templating import redirect, render


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not an API client): HTML errors instead of JSON."""
    path = request.url.path
    if path.startswith(("/v1/", "/openapi.json", "/docs", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message}, status_code=status_code)


def not_found_page(request: Request) -> Response:
    return error_page(
        request,
        404,
        "Page not found",
        "There is no page at this address. Check the link, or go to the home page.",
    )


def server_error_page(request: Request) -> Response:
    return error_page(
        request,
        500,
        "Something went wrong",
        "The server could not complete this request. Nothing you did caused it; please try again in a "
        "moment. If it keeps happening, tell your administrator the time it happened.",
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            # htmx follows HX-Redirect with a full page load.
            return Response(status_code=401, headers={"HX-Redirect": exc.next_path})
        return redirect(request, exc.next_path)

    @app.exception_handler(RestrictedAccess)
    async def restricted(request: Request, exc: RestrictedAccess) -> Response:
        return render(request, "restricted.html", {"person": exc.user}, status_code=403)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc.status_code, exc.title, exc.message)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "This form could not be accepted",
            "The page it came from had expired, or it was sent from another site. "
            "Go back, reload the page and try again.",
        )
