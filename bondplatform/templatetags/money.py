"""The one filter that formats money in templates: `{{ amount_pence|money }}` -> £1,234.56."""

from django import template

from bondplatform.money import display_pounds

register = template.Library()


@register.filter
def money(amount_pence: int | None) -> str:
    return "" if amount_pence is None else display_pounds(amount_pence)
