"""The page shell: static files, error pages in words, the sidebar per role."""

from __future__ import annotations

import re
import secrets

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_user, web_client, web_login
from tests.web.test_sessions import PASSWORD, heading


def sidebar_labels(html: str) -> list[str]:
    nav = html[html.index('<nav class="sidebar"') : html.index("</nav>")]
    return re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', nav)


def test_static_files_are_served(server: Server) -> None:
    client = web_client(server.url)
    page = client.get("/login").text
    css = re.search(r'href="(/static/css/app\.css\?v=\w+)"', page)
    js = re.search(r'src="(/static/vendor/htmx\.min\.js\?v=\w+)"', page)
    assert css and js
    stylesheet = client.get(css.group(1))
    assert stylesheet.status_code == 200 and ":focus-visible" in stylesheet.text
    script = client.get(js.group(1))
    assert script.status_code == 200 and "htmx" in script.text[:200]
    assert client.get("/static/nothing.css").status_code == 404


def test_unknown_pages_answer_in_words(server: Server) -> None:
    client = web_client(server.url)
    page = client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and heading(page) == "Page not found"
    assert page.headers["content-type"].startswith("text/html")
    api = client.get("/v1/autoScribe/nothing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["type"] == "not_found"
    assert client.get("/no/such/page").json()["error"]["type"] == "not_found"


def test_sidebar_shows_only_what_the_user_may_use(server: Server, clinic: ClinicFixture) -> None:
    everything = [
        "Worklist",
        "API Config",
        "DICOM",
        "Users",
        "Express customers",
        "Deliveries",
        "Audit log",
        "Templates",
    ]
    owner = web_login(server.url, clinic.owner_email, clinic.owner_password)
    assert sidebar_labels(owner.get("/").text) == everything

    def labels(**kwargs: object) -> list[str]:
        email = f"side-{secrets.token_hex(4)}@example.test"
        make_user(clinic.clinic_id, email=email, password=PASSWORD, **kwargs)  # type: ignore[arg-type]
        return sidebar_labels(web_login(server.url, email, PASSWORD).get("/").text)

    assert labels(level="admin") == [e for e in everything if e not in ("API Config", "DICOM")]
    assert labels(level="member", can_create_reports=True) == ["Worklist", "Templates"]
    assert labels(level="member", can_create_reports=False, npi=None) == ["Worklist"]


def test_home_page_names_the_user_and_clinic(server: Server, clinic: ClinicFixture) -> None:
    owner = web_login(server.url, clinic.owner_email, clinic.owner_password)
    page = owner.get("/")
    # The bootstrap's owner is named after their role: welcomed to the clinic, not as "Clinic".
    assert "Welcome, Clinic" not in page.text and "<h1>Welcome to Test Clinic" in page.text
    assert 'aria-label="Main"' in page.text and 'href="#main"' in page.text  # landmarks and skip link
    assert 'action="/logout"' in page.text
