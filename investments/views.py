"""HTML pages: thin, they call selectors and render."""

from django.shortcuts import render

from issuers.selectors import issuer_list


def home(request):
    return render(request, "home.html", {"issuers": issuer_list()})
