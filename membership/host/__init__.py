"""The fiscal host: who holds the Stripe account, its fee, the outlets' accounts and grants."""
