"""The served OpenAPI schema: it generates cleanly and covers every endpoint."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient


@pytest.fixture
def schema():
    """Generate the schema afresh, failing on any warning or error drf-spectacular emits."""
    GENERATOR_STATS.reset()
    result = SchemaGenerator().get_schema(request=None, public=True)
    warnings = dict(GENERATOR_STATS._warn_cache)
    errors = dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert not errors, "schema errors:\n" + "\n".join(errors)
    assert not warnings, "schema warnings:\n" + "\n".join(warnings)
    return result


def test_the_schema_generates_without_warnings_or_errors(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Mutual Bonds API"


def test_every_api_path_is_in_the_schema(schema, api_urls):
    # The walker fills int parameters with 1; the schema names them.
    documented = set()
    for path in schema["paths"]:
        parts = ["1" if p.startswith("{") else p for p in path.split("/")]
        documented.add("/".join(parts))
    missing = [
        url for url in api_urls if url.replace("/x/", "/1/") not in documented and url not in documented
    ]
    assert not missing, f"not in the OpenAPI schema: {missing}"


def test_the_foundation_operations_are_described(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/auth/register/"]) >= {"post"}
    assert "201" in paths["/api/v1/auth/register/"]["post"]["responses"]
    assert set(paths["/api/v1/issuers/"]) >= {"get", "post"}
    assert "201" in paths["/api/v1/issuers/"]["post"]["responses"]
    assert "201" in paths["/api/v1/issuers/{issuer_id}/officers/"]["post"]["responses"]
    assert "get" in paths["/api/v1/me/"]


@pytest.mark.django_db
def test_the_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/issuers/" in schema.content

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")
