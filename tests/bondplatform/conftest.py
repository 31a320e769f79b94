"""Fixtures for the project-wide tests: every URL under /api/v1/, read from the router itself.

Used by the garbage test and the schema test, so that endpoints added later
are covered without anyone remembering to list them.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern

from bondplatform import api_urls as api_router

# Path converters and a value of each kind to put in a URL.
SAMPLE_VALUES = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": str(uuid.UUID(int=1))}


def _route_to_url(route: str, converters: dict) -> str:
    url = route
    for name, converter in converters.items():
        kind = {
            "IntConverter": "int",
            "StringConverter": "str",
            "SlugConverter": "slug",
            "PathConverter": "path",
            "UUIDConverter": "uuid",
        }.get(type(converter).__name__)
        if kind is None:
            raise AssertionError(
                f"The garbage test does not know how to fill <{name}> ({type(converter).__name__}): "
                "add it to SAMPLE_VALUES."
            )
        start = url.index("<")
        end = url.index(">", start)
        assert url[start + 1 : end].split(":")[-1] == name
        url = url[:start] + SAMPLE_VALUES[kind] + url[end + 1 :]
    return url


def _pattern_to_url(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _route_to_url(str(pattern), pattern.converters)
    if isinstance(pattern, RegexPattern):
        regex = pattern._regex
        if pattern.regex.groups:
            raise AssertionError(
                f"The garbage test cannot fill the regex {regex!r}: use path() with converters."
            )
        return regex.lstrip("^").rstrip("$").replace("\\", "")
    raise AssertionError(f"Unknown URL pattern type {type(pattern).__name__}")


def api_urls_to_try(patterns=None, prefix: str = "/api/v1/") -> list[str]:
    urls: list[str] = []
    for entry in api_router.urlpatterns if patterns is None else patterns:
        here = prefix + _pattern_to_url(entry.pattern)
        if isinstance(entry, URLResolver):
            urls += api_urls_to_try(entry.url_patterns, here)
        elif isinstance(entry, URLPattern):
            urls.append(here)
    return urls


API_URLS = api_urls_to_try()


@pytest.fixture
def api_urls() -> list[str]:
    """Every URL under /api/v1/, with sample values in its parameters."""
    return list(API_URLS)


@pytest.fixture(params=API_URLS)
def api_url(request) -> str:
    """Each URL under /api/v1/ in turn: a test that asks for it runs once per endpoint."""
    return request.param


@pytest.fixture(params=[url for url in API_URLS if "/1/" in url])
def api_url_with_an_id(request) -> str:
    """Each URL under /api/v1/ that names an object by its integer id (1), in turn."""
    return request.param
