"""Lists page with ?limit=&offset=: huge values are clamped, junk is 400 `invalid_query`, never a 500."""

import pytest

from issuers.models import Issuer

pytestmark = pytest.mark.django_db

HUGE = "70323522792408116887552"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/issuers/",
        "/api/v1/issues/",
        "/api/v1/me/subscriptions/",
        "/api/v1/ledger/entries/?issuer={issuer}",
    ],
)
def test_huge_limits_and_offsets_are_clamped(society, auditor, resident, path, api_client_for):
    user = auditor if "ledger" in path else resident
    base = path.format(issuer=society.pk)
    sep = "&" if "?" in base else "?"
    for query in (f"limit={HUGE}", f"offset={HUGE}", f"limit={HUGE}&offset={HUGE}", "limit=007&offset=00"):
        response = api_client_for(user).get(f"{base}{sep}{query}")
        assert response.status_code == 200, (query, response.content[:200])
        assert "results" in response.json()


def test_a_page_is_at_most_500_rows(society, api_client_for):
    Issuer.objects.bulk_create(
        [
            Issuer(
                name=f"Mutual {i}", legal_form="other", asset_lock_basis="none", max_interest_rate_percent=1
            )
            for i in range(510)
        ]
    )
    body = api_client_for(None).get("/api/v1/issuers/?limit=1000").json()
    assert body["count"] == 511
    assert len(body["results"]) == 500
    assert body["next"] is not None


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=ten", "limit"),
        ("limit=0", "limit"),
        ("limit=", "limit"),
        ("limit=%2010", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        ("limit=1e3", "limit"),
        ("limit=%C2%B2", "limit"),  # a superscript two: a digit to Python, not a number here
        ("offset=-5", "offset"),
        ("offset=x", "offset"),
        ("limit=10&offset=--3", "offset"),
    ],
)
def test_junk_limits_and_offsets_are_400_invalid_query(society, query, name, api_client_for, assert_error):
    response = api_client_for(None).get(f"/api/v1/issuers/?{query}")
    body = assert_error(response, 400, "invalid_query")
    assert list(body["fields"]) == [name]


def test_a_limit_and_offset_page_through(society, cic, api_client_for):
    body = api_client_for(None).get("/api/v1/issuers/?limit=1&offset=1").json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["previous"] is not None
