"""Telemetry: log groups and streams, metrics, filter patterns."""
