"""The HTTP API of bond issues, subscriptions and payments, one module a resource."""
