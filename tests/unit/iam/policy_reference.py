"""A plain reference of aws-semantics §5.2 for the property test.

Interprets the raw JSON document on every call and shares no code with
`nimbus.iam`: wildcards by recursion, conditions by reading the dict.
"""

from __future__ import annotations

from typing import Any


def wild(pattern: str, text: str) -> bool:
    if not pattern:
        return not text
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(wild(rest, text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    return (head == "?" or head == text[0]) and wild(rest, text[1:])


def arn_match(pattern: str, arn: str) -> bool:
    """Part by part; the pattern's last part matches everything left of the ARN."""
    want = pattern.split(":", 5)
    have = arn.split(":", len(want) - 1)
    if len(have) != len(want):
        return False
    return all(wild(w, h) for w, h in zip(want, have, strict=True))


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _compare(base: str, have: str, want: str) -> bool:
    if base == "StringEquals":
        return have == want
    if base == "StringEqualsIgnoreCase":
        return have.lower() == want.lower()
    if base == "StringLike":
        return wild(want, have)
    if base == "NumericLessThan":
        return float(have) < float(want)
    if base == "Bool":
        return have.lower() == str(want).lower()
    raise AssertionError(base)


def _clause(op: str, key: str, wanted: Any, context: dict[str, Any]) -> bool:
    qualifier = ""
    if ":" in op:
        qualifier, op = op.split(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    have = context.get(key.lower())
    wanted_values = [str(w).lower() if isinstance(w, bool) else w for w in _listify(wanted)]
    if op == "Null":
        return (have is None) == (wanted_values[0] == "true")
    negate = "Not" in op
    base = op.replace("Not", "")
    if have is None:
        if if_exists or qualifier == "ForAllValues":
            return True
        return False if qualifier == "ForAnyValue" else negate

    def one(value: str) -> bool:
        hit = any(_compare(base, value, w) for w in wanted_values)
        return hit != negate

    values = _listify(have)
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _statement_applies(st: dict[str, Any], action: str, resource: str, ctx: dict[str, Any]) -> bool:
    acts = st.get("Action", st.get("NotAction"))
    act_hit = any(wild(a.lower(), action.lower()) for a in _listify(acts))
    if "NotAction" in st:
        act_hit = not act_hit
    ress = st.get("Resource", st.get("NotResource"))
    res_hit = any(arn_match(r, resource) for r in _listify(ress))
    if "NotResource" in st:
        res_hit = not res_hit
    if not (act_hit and res_hit):
        return False
    for op, block in st.get("Condition", {}).items():
        for key, wanted in block.items():
            if not _clause(op, key, wanted, ctx):
                return False
    return True


def decide(docs: list[dict[str, Any]], action: str, resource: str, ctx: dict[str, Any]) -> str:
    """Return "allow", "explicit-deny" or "implicit-deny"."""
    lowered = {k.lower(): v for k, v in ctx.items()}
    effects = [
        st["Effect"]
        for doc in docs
        for st in _listify(doc["Statement"])
        if _statement_applies(st, action, resource, lowered)
    ]
    if "Deny" in effects:
        return "explicit-deny"
    return "allow" if "Allow" in effects else "implicit-deny"
