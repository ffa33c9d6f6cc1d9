"""The JSONPath subset of InputPath and InputPathsMap: parsing, selection, a property."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.events.jsonpath import MISSING, JsonPathError, Wildcard, compile_path

DOC: dict[str, Any] = {
    "detail-type": "Object Created",
    "resources": ["arn:aws:s3:::a", "arn:aws:s3:::b"],
    "detail": {
        "bucket/name": "photos",
        "aws:cloudformation:stack-name": "stack",
        "a b": {"c": 1},
        "it's": 2,
        "items": [{"id": 1}, {"id": 2}, {"other": 3}],
        "empty": [],
        "nothing": None,
    },
}


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("$", DOC),
        ("$.detail-type", "Object Created"),
        ("$.resources[0]", "arn:aws:s3:::a"),
        ("$.resources[1]", "arn:aws:s3:::b"),
        ("$.detail.bucket/name", "photos"),
        ("$.detail.aws:cloudformation:stack-name", "stack"),
        ("$.detail.items[1].id", 2),
        ("$.detail.nothing", None),
        ("$['detail']['a b'].c", 1),
        ('$["detail"]["a b"]["c"]', 1),
        ("$['detail']['it\\'s']", 2),
    ],
)
def test_definite_paths_select_one_value(path: str, selected: Any) -> None:
    compiled = compile_path(path)
    assert compiled.definite
    assert compiled.select(DOC) == selected


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("$.resources[*]", ["arn:aws:s3:::a", "arn:aws:s3:::b"]),
        ("$.detail.items[*].id", [1, 2]),  # the item without `id` is skipped
        ("$.detail.items.*.id", [1, 2]),
        ("$.detail.empty[*]", []),
        ("$.detail-type.*", []),  # a wildcard over a string reaches nothing
        ("$.*", list(DOC.values())),
    ],
)
def test_wildcard_paths_select_the_list_of_matches(path: str, selected: Any) -> None:
    compiled = compile_path(path)
    assert not compiled.definite
    assert compiled.select(DOC) == selected


@pytest.mark.parametrize(
    "path",
    [
        "$.absent",
        "$.resources[2]",  # past the end
        "$.resources.name",  # a name on a list
        "$.detail[0]",  # an index on an object
        "$.detail-type.length",  # a name on a string
        "$.detail.nothing.x",  # below null
    ],
)
def test_a_definite_path_the_document_lacks_selects_missing(path: str) -> None:
    assert compile_path(path).select(DOC) is MISSING


@pytest.mark.parametrize(
    "path",
    [
        "",
        "detail",
        "$detail",
        "$.",
        "$..detail",  # deep scan is not supported
        "$.detail.",
        "$.a b",
        "$.a[-1]",
        "$.a[x]",
        "$.a[0",
        "$.a['b]",
        "$[?(@.a)]",
        "$.a[0:2]",
        " $.a",
    ],
)
def test_unsupported_paths_are_refused(path: str) -> None:
    with pytest.raises(JsonPathError):
        compile_path(path)


def test_bracket_names_can_be_refused_while_indices_stay() -> None:
    # InputPathsMap: "You must use JSON dot notation, not bracket notation"
    with pytest.raises(JsonPathError):
        compile_path("$['detail']", brackets=False)
    assert compile_path("$.resources[0]", brackets=False).select(DOC) == "arn:aws:s3:::a"
    assert compile_path("$.resources[*]", brackets=False).steps == ("resources", Wildcard.ANY)


# -- property: a path built to reach a value selects exactly that value -------------------

_NAME = re.compile(r"[^.\[\]*'\"\s]+")
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def path_step(key: str | int) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if _NAME.fullmatch(key):
        return f".{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"['{escaped}']"


@st.composite
def reachable(draw: st.DrawFn, document: Any) -> tuple[str, Any]:
    """A path into `document` (bracket notation where a name needs it) and its value."""
    text, node = "$", document
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        text += path_step(key)
        node = node[key]
    return text, node


@given(st.data(), json_values)
def test_a_path_built_into_a_document_selects_its_value(data: st.DataObject, document: Any) -> None:
    text, value = data.draw(reachable(document))
    assert compile_path(text).select(document) == value


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_/:", min_size=1, max_size=8))
def test_dot_names_round_trip(name: str) -> None:
    assert compile_path(f"$.{name}", brackets=False).steps == (name,)
