"""Bad input never becomes a 500, and every 4xx has the one error shape.

The garbage test walks every URL pattern under /api/v1/ (from the router
itself, so endpoints added later are covered without touching this file)
and throws malformed, mistyped and oversized bodies at it, signed in as
staff and anonymously.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

TOO_LARGE = b'{"name": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'

GARBAGE = [
    # (label, body, content type, extra headers)
    ("malformed-json", b'{"username": "rita", ', "application/json", {}),
    ("json-list", b"[1, 2, 3]", "application/json", {}),
    ("json-string", b'"hello"', "application/json", {}),
    ("json-null", b"null", "application/json", {}),
    ("too-large", TOO_LARGE, "application/json", {}),
    ("deeply-nested", b"[" * 50_000 + b"]" * 50_000, "application/json", {}),
    ("not-utf8", b'{"name": "\xff\xfe"}', "application/json", {}),
    ("nan", b'{"max_interest_rate_percent": NaN, "amount": Infinity}', "application/json", {}),
    ("huge-number", b'{"amount": ' + b"9" * 5000 + b"}", "application/json", {}),
    (
        "wrong-types",
        json.dumps(
            {
                "amount": [1],
                "username": {"a": 1},
                "issuer": "x",
                "date_of_birth": 5,
                "password": 12345,
                "legal_form": True,
                "max_interest_rate_percent": {"rate": 1},
                "payment_method": None,
                "period_end": [],
                "preference": 7,
            }
        ).encode(),
        "application/json",
        {},
    ),
    (
        "nul-characters",
        json.dumps(
            {"username": "ri\x00ta", "name": "\x00", "postcode": "S1\x002AB", "reference": "\x00"}
        ).encode(),
        "application/json",
        {},
    ),
    ("form-encoded", b"username=rita&password=x", "application/x-www-form-urlencoded", {}),
    ("multipart", b"--zz\r\nnonsense\r\n--zz--", "multipart/form-data; boundary=zz", {}),
    ("text", b"hello", "text/plain", {}),
    ("unacceptable", b"{}", "application/json", {"HTTP_ACCEPT": "text/csv"}),
    ("bad-host", b"{}", "application/json", {"HTTP_HOST": "evil.example"}),
]


def error_shape_problem(response) -> str | None:
    """None when a response is acceptable; otherwise what is wrong with it."""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    if response.status_code < 400:
        return None
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"{response.status_code} with Content-Type {response.get('Content-Type')!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{response.status_code} with a body that is not JSON"
    if not isinstance(body, dict) or not {"code", "detail", "fields"} <= set(body):
        return f"{response.status_code} without code/detail/fields: {body!r}"[:300]
    if not (
        isinstance(body["code"], str) and isinstance(body["detail"], str) and isinstance(body["fields"], dict)
    ):
        return f"{response.status_code} with wrongly typed code/detail/fields: {body!r}"[:300]
    return None


def test_the_walker_finds_the_foundation_endpoints(api_urls):
    assert {
        "/api/v1/auth/register/",
        "/api/v1/auth/token/",
        "/api/v1/me/",
        "/api/v1/issuers/",
        "/api/v1/issuers/1/",
        "/api/v1/issuers/1/officers/",
        "/api/v1/issuers/1/auditors/",
    } <= set(api_urls)


@pytest.mark.django_db
def test_garbage_never_gives_500_and_every_4xx_has_the_error_shape(api_url, staff, api_client_for):
    url = api_url
    problems = []
    for who, client in (("staff", api_client_for(staff)), ("anonymous", APIClient())):
        for method in ("GET", "POST"):
            for label, body, content_type, headers in GARBAGE:
                try:
                    response = client.generic(method, url, body, content_type=content_type, **headers)
                except Exception as exc:
                    problems.append(f"{who} {method} {label}: raised {exc!r}"[:300])
                    continue
                problem = error_shape_problem(response)
                if problem:
                    problems.append(f"{who} {method} {label}: {problem}")
    assert not problems, f"{url}:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_an_id_too_large_for_the_database_is_not_a_500(api_url_with_an_id, staff, api_client_for):
    url = api_url_with_an_id.replace("/1/", "/99999999999999999999999/")
    for client in (api_client_for(staff), APIClient()):
        for method in ("GET", "POST"):
            response = client.generic(method, url, b"{}", content_type="application/json")
            assert error_shape_problem(response) is None, (method, url, response.content[:300])


@pytest.mark.django_db
class TestSpecificRefusals:
    URL = "/api/v1/auth/register/"

    def post(self, body: bytes, content_type: str = "application/json"):
        return APIClient().generic("POST", self.URL, body, content_type=content_type)

    def test_an_oversized_body_is_400_request_too_large(self):
        response = self.post(TOO_LARGE)
        assert response.status_code == 400
        assert response.json()["code"] == "request_too_large"

    def test_malformed_json_is_400_malformed_request(self):
        response = self.post(b"{nope")
        assert response.status_code == 400
        assert response.json()["code"] == "malformed_request"

    def test_json_nested_too_deeply_is_400_malformed_request(self):
        response = self.post(b"[" * 50_000 + b"]" * 50_000)
        assert response.status_code == 400
        assert response.json()["code"] == "malformed_request"

    def test_json_is_parsed_to_64_deep_and_refused_past_it(self):
        """Bounded before parsing (bondplatform.parsers): nothing the API takes nests that deep."""
        deep = self.post(b"[" * 65 + b"]" * 65)
        assert (deep.status_code, deep.json()["code"]) == (400, "malformed_request")
        assert "nested more than 64" in deep.json()["detail"]
        # 64 deep parses; the serializer then says what is wrong with it.
        assert self.post(b"[" * 64 + b"]" * 64).json()["code"] == "invalid"

    def test_brackets_inside_strings_do_not_count(self):
        response = self.post(b'{"username": "' + b"[" * 500 + b'\\"' + b"{" * 500 + b'"}')
        assert (response.status_code, response.json()["code"]) == (400, "invalid")

    def test_a_json_list_is_400_invalid(self):
        response = self.post(b"[]")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert "non_field_errors" in response.json()["fields"]

    def test_a_form_is_415(self):
        response = self.post(b"a=b", "application/x-www-form-urlencoded")
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"

    def test_a_bad_host_header_is_400_in_json(self):
        response = APIClient().get("/api/v1/issuers/", HTTP_HOST="evil.example")
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"

    def test_an_unsupported_method_is_405(self):
        response = APIClient().delete("/api/v1/issuers/")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
class TestUnknownApiPaths:
    def test_an_unknown_path_is_a_json_404(self, settings, debug):
        settings.DEBUG = debug
        response = APIClient().get("/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert error_shape_problem(response) is None
        assert response.json()["code"] == "not_found"

    def test_a_post_without_the_trailing_slash_is_a_404_with_a_hint(self, settings, debug):
        # Django's APPEND_SLASH cannot redirect a POST (and raises with DEBUG on).
        settings.DEBUG = debug
        response = APIClient().post("/api/v1/issuers", {}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "/api/v1/issuers/" in response.json()["detail"]


def test_web_pages_keep_django_html_errors(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
