"""The platform clock: the host's clock, shifted by a setting."""

from __future__ import annotations

import time

from nimbus.clock import epoch_ms, system_clock


def test_no_offset_is_the_host_clock() -> None:
    assert system_clock() is time.time


def test_an_offset_shifts_every_reading() -> None:
    shifted = system_clock(-86_400.0)
    before = time.time()
    reading = shifted()
    after = time.time()
    assert before - 86_400.0 <= reading <= after - 86_400.0


def test_epoch_ms_truncates_to_whole_milliseconds() -> None:
    assert epoch_ms(lambda: 1_798_761_599.9999) == 1_798_761_599_999
