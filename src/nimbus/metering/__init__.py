"""Metering: what every invocation used, kept durably, and what it costs.

    usage.py   UsageRecord (one per invocation that ran), billed milliseconds, GB-seconds
    ledger.py  UsageLedger: its own SQLite file; a writer thread group-commits records so
               an invocation is acknowledged only once its usage is on disk
    prices.py  PriceList: Lambda's list prices and free tier, from Settings
    bill.py    Month, compute_bill (free tier across the account) and the comparison with
               an always-on server

Money is `Decimal` computed exactly; sums that become money are stored as integers
(MB x billed ms), never floats. Nothing here knows about HTTP.
"""
