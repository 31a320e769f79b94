"""UK postcodes: one normaliser, used for storage and for local-offer checks."""

import re

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_postcode(raw: str) -> str | None:
    """'s1 2ab' -> 'S1 2AB'; None when it is not a UK postcode."""
    compact = re.sub(r"\s+", "", raw or "").upper()
    match = _POSTCODE.fullmatch(compact)
    if not match:
        return None
    return f"{match.group(1)} {match.group(2)}"


def postcode_matches_prefix(postcode: str, prefix: str) -> bool:
    """Does a normalised postcode fall under a local-offer prefix?

    A prefix is an area ('S'), a district ('S1') or a sector ('S1 2').
    'S1' matches 'S1 2AB' but not 'S11 8QB': a prefix naming a district must
    not match another district that begins with the same characters.
    """
    outward, _, inward = postcode.partition(" ")
    prefix = re.sub(r"\s+", " ", prefix.strip().upper())
    if not prefix:
        return False
    if prefix.isalpha():
        return re.sub(r"[0-9].*", "", outward) == prefix
    prefix_outward, _, prefix_inward = prefix.partition(" ")
    return outward == prefix_outward and inward.startswith(prefix_inward)
