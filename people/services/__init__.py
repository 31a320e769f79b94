"""Writes for people: registration, signing in, two-factor sign-in, tokens.

Each module holds one concern: `registration` (accounts and e-mail
verification), `sign_in` (checking a sign-in, the per-account lock-out),
`tokens` (API tokens: issue, expire, revoke), `two_factor` (authenticators,
recovery codes, resets) and `credentials` (ending what a change must end).
People sit low in the house (above `bondplatform` only): these services check
permission through `people.gates`, which `issuers.gates` builds on.
"""
