"""The simulator: a seeded retail chain's POS and CRM stream (receipts, member events, and a
share of malformed messages), for the demo, tests and benches."""
