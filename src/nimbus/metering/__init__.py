"""Metering: what every invocation used, kept durably, and what it costs.

    usage.py   UsageRecord (one per invocation that ran), billed milliseconds, GB-seconds
    journal.py Journal: append-only segment files, a row in the OS once `append` returns
    ledger.py  UsageLedger: journals each record before its invocation is answered; a
               flusher thread commits the journal to SQLite every interval (100 ms)
    prices.py  PriceList: Lambda's list prices and free tier, from Settings
    bill.py    Month, compute_bill (free tier across the account) and the comparison with
               an always-on server

Money is `Decimal` computed exactly; sums that become money are stored as integers
(MB x billed ms), never floats. Nothing here knows about HTTP.
"""
