"""Payments: how money for subscriptions comes in and goes back, in one package.

Two layers, and imports run only downward (an import-linter contract in
pyproject.toml holds it):

- the services, which change our records and call the providers:
  `webhooks` (the Stripe inbox's handlers), `card` (what only card payments
  have), `bank_statements` (the statement import), `reconciliation` (reads
  only), `receipts` (money in, whatever the provider) and `refunds` (money
  back);
- the providers, which talk to the outside and never import a service:
  `providers` (which provider serves a method), `bank_transfer` and `stripe`
  (the implementations of `base.PaymentProvider`), `stripe_client` (the one
  door to Stripe's API); and at the bottom `models` (the webhook inbox).

A provider reports a failure by raising (`ServiceError`) or by returning a
value (`PreparedPayment`, `RefundOutcome`); the service that called it acts
on it. This module imports nothing, so that loading the inbox model (from
`investments.models`) does not load the providers.
"""
