"""The OpenAPI document says what the API answers (errors included) and how to call it,
and its docs page loads Swagger UI from this package's static files, not from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders

from wagtail_journeys.events import EVENT_NAME

pytestmark = pytest.mark.django_db
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def document(client) -> dict:
    response = client.get("/journeys/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


EXPECTED_ERRORS = {
    "POST /journeys/api/events": {400, 401, 403, 409, 413, 422},
    "POST /journeys/api/identify": {400, 401, 403, 409, 413, 422},
    "POST /journeys/api/events/batch": {400, 401, 403, 413, 422},
    "POST /journeys/api/contacts/batch": {400, 401, 403, 413, 422},
    "POST /journeys/api/scenarios/{scenario_id}/start": {400, 401, 403, 404, 409, 413, 422},
    "GET /journeys/api/visitor": {400, 403, 413},
    "GET /journeys/api/consent": {400, 403, 413},
    "POST /journeys/api/consent": {400, 403, 413, 422},
    "GET /journeys/api/reports/scenarios/{scenario_id}": {400, 401, 403, 404, 413, 422},
    "GET /journeys/api/reports/emails/{email_id}": {400, 401, 403, 404, 413, 422},
    "GET /journeys/api/reports/overview": {400, 401, 403, 413, 422},
    "GET /journeys/api/contacts/{email}/data": {400, 401, 403, 404, 413, 422},
    "DELETE /journeys/api/contacts/{email}": {400, 401, 403, 404, 413, 422},
}


def test_every_operation_documents_its_errors_as_problems(document):
    seen = dict(operations(document))
    assert set(seen) == set(EXPECTED_ERRORS)
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    for name, operation in seen.items():
        errors = {int(s) for s in operation["responses"] if int(s) >= 400}
        assert errors == EXPECTED_ERRORS[name], name
        for status in errors:
            response = operation["responses"][str(status)]
            assert response["description"]
            assert response["content"] == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }


def test_security_schemes_give_the_docs_an_authorize_button(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["ServerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["ServerToken"]["description"],
    }
    assert schemes["VisitorCookie"]["in"] == "cookie"
    assert schemes["VisitorCookie"]["name"] == "journeys_vid"
    security = {name: op.get("security") for name, op in operations(document)}
    assert security["POST /journeys/api/identify"] == [{"ServerToken": []}]
    assert security["POST /journeys/api/scenarios/{scenario_id}/start"] == [{"ServerToken": []}]
    for name in ("scenarios/{scenario_id}", "emails/{email_id}", "overview"):
        assert security[f"GET /journeys/api/reports/{name}"] == [{"ReportsToken": []}]
    assert "view_reports" in schemes["ReportsToken"]["description"]
    assert security["POST /journeys/api/events"] == [
        {"ServerToken": []},
        {"VisitorCookie": []},
        {},
    ]


def test_schemas_carry_the_constraints_the_api_enforces(document):
    schemas = document["components"]["schemas"]
    name = schemas["EventIn"]["properties"]["name"]
    assert name["pattern"] == f"^{EVENT_NAME.pattern}$"
    assert name["maxLength"] == 100
    assert re.fullmatch(name["pattern"], "cart.updated")
    assert not re.search(name["pattern"], "has spaces")
    key = schemas["EventIn"]["properties"]["idempotency_key"]["anyOf"][0]
    assert (key["minLength"], key["maxLength"]) == (1, 150)
    assert schemas["EventIn"]["additionalProperties"] is False
    assert "1e+15" in schemas["EventIn"]["properties"]["properties"]["description"]
    (start,) = [op for n, op in operations(document) if "start" in n]
    (scenario_id,) = [p for p in start["parameters"] if p["name"] == "scenario_id"]
    assert scenario_id["schema"]["minimum"] == 1
    assert scenario_id["schema"]["maximum"] == 2**63 - 1
    tags = schemas["IdentifyIn"]["properties"]["tags"]
    assert tags["maxItems"] == 100


class Assets(HTMLParser):
    """Every URL a page makes the browser fetch (scripts, styles, icons, images)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for attr in ("src", "href"):
            if attrs.get(attr):
                self.urls.append(attrs[attr])
        self._in_script = tag == "script" and "src" not in attrs

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def test_docs_page_loads_swagger_ui_from_the_package_static_files(client):
    response = client.get("/journeys/api/docs/")
    assert response.status_code == 200
    page = Assets()
    page.feed(response.content.decode())
    assert page.urls, "the page loads nothing?"
    for url in page.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is on another host"
        assert url.startswith("/static/wagtail_journeys/api-docs/"), url
        found = finders.find(url.removeprefix("/static/"))
        assert found and "/wagtail_journeys/static/" in found, f"{url} is not in the package"
    assert {u.rsplit("/", 1)[-1] for u in page.urls} == {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "docs.js",
    }
    assert page.inline_scripts == 1  # the settings, as JSON data: no inline code
    assert b'"url": "/journeys/api/openapi.json"' in response.content
    assert b'"validatorUrl": null' in response.content  # never posts the schema out


def test_vendored_swagger_ui_references_no_missing_source_map():
    """``ManifestStaticFilesStorage`` fails ``collectstatic`` on a missing map file."""
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "docs.js"):
        text = Path(finders.find(f"wagtail_journeys/api-docs/{name}")).read_text("utf-8")
        assert "sourceMappingURL" not in text, name
