"""The price list a bill is computed with: Lambda's list prices, free tier, server prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from nimbus.settings import Settings


@dataclass(frozen=True)
class PriceList:
    """Prices in USD. `per_gb_second` is keyed by architecture ("x86_64", "arm64").

    The mappings are copied into read-only views, so a price list cannot change under a
    bill that is being computed with it; no amount may be negative, so no bill can be.
    """

    per_million_requests: Decimal
    per_gb_second: Mapping[str, Decimal]
    free_requests: int
    free_gb_seconds: Decimal
    instance_hourly: Mapping[str, Decimal]

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_gb_second", MappingProxyType(dict(self.per_gb_second)))
        object.__setattr__(self, "instance_hourly", MappingProxyType(dict(self.instance_hourly)))
        amounts = [self.per_million_requests, self.free_gb_seconds, Decimal(self.free_requests)]
        amounts += [*self.per_gb_second.values(), *self.instance_hourly.values()]
        if not all(value.is_finite() and value >= 0 for value in amounts):
            raise ValueError("prices and free tier amounts must be finite and not negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> PriceList:
        return cls(
            per_million_requests=settings.price_per_million_requests,
            per_gb_second={
                "x86_64": settings.price_per_gb_second_x86,
                "arm64": settings.price_per_gb_second_arm64,
            },
            free_requests=settings.free_tier_requests,
            free_gb_seconds=settings.free_tier_gb_seconds,
            instance_hourly=settings.instance_hourly_prices,
        )
