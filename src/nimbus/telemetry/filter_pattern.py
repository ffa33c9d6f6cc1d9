"""CloudWatch Logs filter patterns: parsed once, matched in Python or inside SQLite.

FilterLogEvents scans many stored lines per request, so a pattern is parsed into an
immutable `FilterPattern` up front and then either evaluated per message (`matches`) or
turned into an SQLite expression (`sql`) so the scan happens in C next to the data.

Two pattern families exist, told apart by their first character:

* term patterns (`ERROR -Retry`, `?WARN ?"Task timed out"`): case-sensitive substrings,
  all required (plain terms), any one of them (`?` terms) or none of them (`-` terms);
  expressible in SQL with `instr`, which is case-sensitive and has no wildcard characters
  (`filter_terms`).
* JSON patterns (`{ $.level = "ERROR" && $.latency > 100 }`): the message must be a JSON
  object; selectors, comparisons and `&&`/`||` are evaluated in Python only
  (`filter_json`, parsed by `filter_json_parser`).

Space-delimited patterns (`[ip, user, ...]`) and `%regex%` terms are not supported: they
are rejected as invalid rather than silently matched as literal text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from nimbus.telemetry.filter_errors import invalid_pattern
from nimbus.telemetry.filter_json import JsonCondition
from nimbus.telemetry.filter_json_parser import parse_json_condition
from nimbus.telemetry.filter_terms import TermCondition, parse_term_condition

MAX_PATTERN_LENGTH: Final = 1024


@dataclass(frozen=True)
class FilterPattern:
    """A parsed filter pattern; `text` is the pattern exactly as the caller sent it."""

    text: str
    condition: TermCondition | JsonCondition = field(repr=False)

    def matches(self, message: str) -> bool:
        """Whether CloudWatch would return a log event with this message."""
        return self.condition.matches(message)

    def sql(self, column: str) -> tuple[str, list[str]] | None:
        """An SQLite boolean expression selecting exactly the rows `matches` accepts.

        `column` is inserted verbatim (it comes from code, never from a request); the
        pattern's terms travel as `?` parameters. None means: filter with `matches`.
        """
        return self.condition.sql(column)


def parse_filter_pattern(text: str) -> FilterPattern:
    """Parse a FilterLogEvents `filterPattern`; raises `InvalidParameter` with AWS's text."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise invalid_pattern()
    body = text.strip()
    if body.startswith("{"):
        return FilterPattern(text, parse_json_condition(body))
    if body.startswith("["):
        raise invalid_pattern()  # space-delimited patterns are not supported
    return FilterPattern(text, parse_term_condition(body))
