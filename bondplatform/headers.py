"""`Cache-Control: no-store` on every API answer and every private page.

A browser's back button, a shared computer's cache or a proxy must not keep a
resident's holdings, an officer's register or a token. So every answer under
/api/ (public ones too: one rule, and they are cheap to make again), every page
for someone signed in, the sign-in and admin pages, and any answer that sets a
cookie, say `no-store`. Public pages for anonymous visitors stay cacheable.
"""

from __future__ import annotations

from django.utils.cache import patch_cache_control

PRIVATE_PREFIXES = ("/api/", "/accounts/", "/admin/")


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            request.path.startswith(PRIVATE_PREFIXES)
            or (user is not None and user.is_authenticated)
            or response.cookies
        ):
            patch_cache_control(response, no_store=True)
        return response
