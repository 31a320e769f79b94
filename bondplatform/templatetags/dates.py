"""Dates in the resident's words: `{{ value|day }}` -> "5 April 2027".

One filter for every page, like `money`: the en-GB locale would print "5 Apr 2027" or
"05/04/2027", and a person reading about their savings should never have to decode a
date. A datetime is shown on its local (Europe/London) calendar day."""

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return date_format(value, "j F Y")
