"""Durable platform state: `base` is the contract, `sqlite` the embedded default."""
