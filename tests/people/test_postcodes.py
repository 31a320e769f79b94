import pytest

from people.postcodes import normalise_postcode, postcode_matches_prefix


@pytest.mark.parametrize(
    "raw,normalised",
    [
        ("S1 2AB", "S1 2AB"),
        ("s12ab", "S1 2AB"),
        ("  s11   8qb ", "S11 8QB"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("m11aa", "M1 1AA"),
        ("EC1A1BB", "EC1A 1BB"),
    ],
)
def test_normalise_postcode(raw, normalised):
    assert normalise_postcode(raw) == normalised


@pytest.mark.parametrize("raw", ["", "S1", "12345", "S1 2A", "SW1A 1AAA", "not a postcode", None])
def test_normalise_refuses_what_is_not_a_postcode(raw):
    assert normalise_postcode(raw) is None


@pytest.mark.parametrize(
    "postcode,prefix,matches",
    [
        ("S1 2AB", "S1", True),
        ("S11 8QB", "S1", False),  # S11 is another district
        ("S11 8QB", "S11", True),
        ("S1 2AB", "S", True),  # an area
        ("S11 8QB", "S", True),
        ("SW1A 1AA", "S", False),  # SW is another area
        ("S1 2AB", "S1 2", True),  # a sector
        ("S1 3AB", "S1 2", False),
        ("S1 2AB", "s1", True),
        ("S1 2AB", " S1 ", True),
        ("S1 2AB", "", False),
    ],
)
def test_postcode_matches_prefix(postcode, prefix, matches):
    assert postcode_matches_prefix(postcode, prefix) is matches
