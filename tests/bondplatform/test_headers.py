"""Response headers (issue 9, finding 11): a Content-Security-Policy that still lets Stripe.js
work, no-store on every API answer and private page, HTTPS only in production, Swagger UI from
the service's own files, and `manage.py check --deploy` silent with DEBUG=0.

(That the policy blocks nothing the pages need is checked in a browser:
tests/e2e/test_content_security_policy.py.)
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_carry_a_policy_that_lets_stripe_js_in_and_nothing_inline(society, officer, make_issue):
    issue = make_issue(society, officer)

    policy = directives(Client().get(f"/issues/{issue.pk}/"))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", "https://js.stripe.com"]
    assert policy["frame-src"] == ["https://js.stripe.com", "https://hooks.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE)


def test_the_pages_have_no_inline_script_or_style(society, officer, resident, make_issue):
    issue = make_issue(society, officer)
    browser = Client()
    pages = ["/", f"/issues/{issue.pk}/", "/accounts/login/", "/accounts/register/", "/api/docs/"]
    browser.force_login(resident)
    pages += ["/me/"]
    for path in pages:
        html = browser.get(path).content.decode()
        assert not INLINE_SCRIPT.search(html), path
        assert "<style" not in html and " style=" not in html, path


def test_every_api_answer_says_no_store(society, resident, api_client_for):
    assert APIClient().get("/api/v1/issuers/")["Cache-Control"] == "no-store"  # public, still
    assert api_client_for(resident).get("/api/v1/me/")["Cache-Control"] == "no-store"
    assert APIClient().get("/api/v1/nothing-here/")["Cache-Control"] == "no-store"  # errors too
    assert "no-store" in APIClient().get("/api/docs/")["Cache-Control"]


def test_private_pages_say_no_store_and_public_ones_may_be_cached(society, officer, resident, make_issue):
    issue = make_issue(society, officer)
    anonymous = Client()
    assert "Cache-Control" not in anonymous.get(f"/issues/{issue.pk}/")
    assert "no-store" in anonymous.get("/accounts/login/")["Cache-Control"]

    signed_in = Client()
    signed_in.force_login(resident)
    for path in ("/me/", f"/issues/{issue.pk}/", "/"):
        assert "no-store" in signed_in.get(path)["Cache-Control"], path


def test_swagger_ui_comes_from_the_service_not_a_cdn():
    browser = Client()
    page = browser.get("/api/docs/").content.decode()

    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(src.startswith("/") for src in scripts), scripts
    assert "cdn" not in page
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in src for src in scripts)
    start_up = [src for src in scripts if "script" in src.split("?", 1)[-1]]
    assert browser.get(start_up[0])["Content-Type"].startswith("application/javascript")


def production_env(**extra: str) -> dict[str, str]:
    """A production-like environment: DEBUG off, the required variables set, nothing else of ours."""
    # (DJANGO_ALLOW_ASYNC_UNSAFE among them: the browser tests set it in this process.)
    ours = re.compile(
        r"^(DEBUG|SECRET_KEY|LEDGER_SIGNING_KEY|ALLOWED_HOSTS|DATABASE_URL|REDIS_URL|SECURE_\w+|DJANGO_\w+)$"
    )
    env = {name: value for name, value in os.environ.items() if not ours.match(name)}
    return {
        **env,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LEDGER_SIGNING_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "bonds.example.org,testserver",
        **extra,
    }


def test_check_deploy_reports_nothing_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout


PROBE = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
secure = client.get("/api/v1/ledger/public-key/", secure=True)
print("HSTS", secure.get("Strict-Transport-Security"))
plain = client.get("/api/v1/ledger/public-key/")
print("PLAIN", plain.status_code, plain.get("Location"))
print("HEALTH", client.get("/healthz").status_code)
proxied = client.get("/api/v1/ledger/public-key/", HTTP_X_FORWARDED_PROTO="https")
print("PROXIED", proxied.status_code)
"""


def probe(**extra: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env={**production_env(**extra), "DJANGO_SETTINGS_MODULE": "bondplatform.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if line)


def test_production_is_https_only():
    seen = probe()

    assert seen["HSTS"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["PLAIN"] == "301 https://testserver/api/v1/ledger/public-key/"
    assert seen["HEALTH"] != "301"  # the load balancer's check over plain HTTP is answered
    assert seen["PROXIED"] == "301"  # a forwarded header is trusted only when configured


def test_behind_a_proxy_that_ends_tls_its_header_is_trusted_when_named():
    seen = probe(
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto", SECURE_HSTS_SECONDS="600", SECURE_HSTS_PRELOAD="0"
    )

    assert seen["PROXIED"] == "200"
    assert seen["HSTS"] == "max-age=600; includeSubDomains"
