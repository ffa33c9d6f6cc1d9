"""What a target receives: Input, InputPath, InputTransformer, and PutTargets validation.

The rendering cases are the ones recorded against AWS (aws-semantics §1.11; LocalStack's
AWS-validated snapshots of tests/aws/services/events/test_events_inputs) and the examples
of the EventBridge user guide's input transformation page.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.errors import ValidationError
from nimbus.events.target_input import (
    InputTransformer,
    TargetInput,
    render_target_input,
    validate_target_input,
)

RULE_ARN = "arn:aws:events:us-east-1:111111111111:rule/bus-1/rule-1"
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "4b7a5f44-2a9a-4c3e-9d0e-1a2b3c4d5e6f",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "111111111111",
    "time": "2024-06-11T08:33:04Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "command": "update-account",
        "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
        "listsingle": ["HIGH"],
        "listmulti": ["ACTIVE", "INACTIVE"],
        "flag": True,
        "count": 3,
        "quoted": 'say "hi"',
        "multiline": "one\ntwo",
    },
}
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
EC2_PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
COMMAND_PATHS = {
    "detail-type": "$.detail-type",
    "timestamp": "$.time",
    "command": "$.detail.command",
}
MISSING_COMMAND = {**COMMAND_PATHS, "command": "$.detail.notinmessage"}
DETAIL_PATHS = {
    "payload": "$.detail.payload",
    "listsingle": "$.detail.listsingle",
    "listmulti": "$.detail.listmulti",
    "flag": "$.detail.flag",
    "count": "$.detail.count",
    "quoted": "$.detail.quoted",
    "multiline": "$.detail.multiline",
    "missing": "$.detail.notinmessage",
}


def render(value: TargetInput, event: dict[str, Any] = EVENT) -> str | None:
    validate_target_input("target-1", value)
    return render_target_input(
        value,
        event,
        rule_arn=RULE_ARN,
        rule_name="rule-1",
        ingestion_time="2024-06-11T08:33:05Z",
    )


def transformed(paths: dict[str, str], template: str, event: dict[str, Any] = EVENT) -> str | None:
    return render(TargetInput(transformer=InputTransformer.of(paths, template)), event)


# -- the whole event, Input, InputPath ----------------------------------------------------


def test_without_an_option_the_whole_event_is_delivered_as_compact_json() -> None:
    body = render(TargetInput())
    assert body is not None
    assert json.loads(body) == EVENT
    assert body == json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False)


def test_input_is_delivered_verbatim() -> None:
    text = '{"Bananas":  "its🍌bananas",\n "n": [1, 2.50]}'
    assert render(TargetInput(input=text)) == text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("$.detail.payload", '{"acc_id":"0a787ecb-4015","sf_id":"baz"}'),
        ("$.detail.payload.sf_id", '"baz"'),  # the SQS body includes the quotes
        ("$.detail.count", "3"),
        ("$.resources", "[]"),
        ("$.detail.listmulti[*]", '["ACTIVE","INACTIVE"]'),
        ("$['detail']['payload']['acc_id']", '"0a787ecb-4015"'),
    ],
)
def test_input_path_delivers_the_json_of_the_selected_value(path: str, body: str) -> None:
    assert render(TargetInput(input_path=path)) == body


def test_input_path_detail_delivers_the_detail_object() -> None:
    body = render(TargetInput(input_path="$.detail"))
    assert body is not None
    assert json.loads(body) == EVENT["detail"]


def test_input_path_the_event_lacks_delivers_nothing() -> None:
    assert render(TargetInput(input_path="$.detail.notinmessage")) is None


# -- InputTransformer: recorded string templates ---------------------------------------------


@pytest.mark.parametrize(
    ("paths", "body"),
    [
        (
            COMMAND_PATHS,
            '"Event of core.update-account-command type, at time 2024-06-11T08:33:04Z, '
            'info extracted from detail update-account"',
        ),
        (
            MISSING_COMMAND,  # a missing path in quotes renders as nothing
            '"Event of core.update-account-command type, at time 2024-06-11T08:33:04Z, '
            'info extracted from detail "',
        ),
    ],
)
def test_recorded_string_template(paths: dict[str, str], body: str) -> None:
    template = (
        '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"'
    )
    assert transformed(paths, template) == body


def test_recorded_string_template_with_special_starting_characters() -> None:
    template = '"{[/Check with special starting characters for event of <detail-type> type"'
    expected = (
        '"{[/Check with special starting characters for event of core.update-account-command type"'
    )
    assert transformed(COMMAND_PATHS, template) == expected
    assert transformed(MISSING_COMMAND, template) == expected


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ('"<payload>"', '"{acc_id:0a787ecb-4015,sf_id:baz}"'),
        ('"<listsingle>"', '"[HIGH]"'),
        ('"<listmulti>"', '"[ACTIVE,INACTIVE]"'),
        ('"<flag>"', '"true"'),
        ('"<count> items"', '"3 items"'),
        ('"[<missing>]"', '"[]"'),
    ],
)
def test_recorded_raw_text_inside_a_string_template(template: str, body: str) -> None:
    assert transformed(DETAIL_PATHS, template) == body


def test_recorded_predefined_variables_in_a_string() -> None:
    template = (
        '"Message containing all pre defined variables <aws.events.rule-arn> '
        '<aws.events.rule-name> <aws.events.event.ingestion-time>"'
    )
    assert transformed({}, template) == (
        f'"Message containing all pre defined variables {RULE_ARN} rule-1 2024-06-11T08:33:05Z"'
    )


# -- InputTransformer: recorded JSON templates ------------------------------------------------


def test_recorded_json_template_with_bare_placeholders() -> None:
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    body = transformed(COMMAND_PATHS, template)
    assert body == (
        '{"detailType":"core.update-account-command","time":"2024-06-11T08:33:04Z",'
        '"command":"update-account"}'
    )


def test_recorded_missing_path_in_bare_position_becomes_an_empty_string() -> None:
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    body = transformed(MISSING_COMMAND, template)
    assert body is not None
    assert json.loads(body) == {
        "detailType": "core.update-account-command",
        "time": "2024-06-11T08:33:04Z",
        "command": "",
    }


def test_recorded_event_variables_as_json_values() -> None:
    template = '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}'
    body = transformed({}, template)
    assert body is not None
    delivered = json.loads(body)
    assert delivered["originalEventJson"] == EVENT
    assert delivered["originalEvent"] == {
        "version": "0",
        "id": EVENT["id"],
        "detailType": "core.update-account-command",  # camel-cased, as recorded
        "source": "core.update-account-command",
        "account": "111111111111",
        "time": "2024-06-11T08:33:04Z",
        "region": "us-east-1",
        "resources": [],
    }


@pytest.mark.parametrize(
    ("template", "delivered"),
    [
        (
            '{"p": <payload>, "l": <listmulti>}',
            {"p": EVENT["detail"]["payload"], "l": ["ACTIVE", "INACTIVE"]},
        ),
        ('{"s": "<count>-<flag>", "f": <flag>, "n": <count>}', {"s": "3-true", "f": True, "n": 3}),
        ('[<listsingle>, "<missing>", <missing>]', [["HIGH"], "", ""]),
        ('{"text": <quoted>, "lines": <multiline>}', {"text": 'say "hi"', "lines": "one\ntwo"}),
    ],
)
def test_bare_placeholders_are_json_and_quoted_ones_raw_text(template: str, delivered: Any) -> None:
    body = transformed(DETAIL_PATHS, template)
    assert body is not None
    assert json.loads(body) == delivered


# -- silent delivery failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        '{"a": "<listsingle>"}',  # recorded: a list inside quotes breaks the JSON
        '{"a": "<payload>"}',
        '{"a": "<quoted>"}',  # nothing is escaped
        '"<multiline>"',  # a raw newline is not allowed in a JSON string
        "<listsingle> is the level",  # recorded: bare text is never delivered
        "Event of <count> items",
        '"a" "b"',
    ],
)
def test_templates_that_are_not_json_after_substitution_deliver_nothing(template: str) -> None:
    assert transformed(DETAIL_PATHS, template) is None


# -- the user guide's examples (EC2 event) ---------------------------------------------------


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        (
            '"instance \\"<instance>\\" is in <state>"',
            '"instance \\"i-0123456789\\" is in RUNNING"',
        ),
        (
            '{\n  "instance" : <instance>,\n  "state": <state>\n}',
            '{"instance":"i-0123456789","state":"RUNNING"}',
        ),
        (
            '{\n "instance" : <instance>,\n "state": "<state>",\n'
            ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
            '{"instance":"i-0123456789","state":"RUNNING",'
            '"instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
        ),
        (
            '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}',
            '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
        ),
        ('"<aws.events.rule-name> triggered"', '"rule-1 triggered"'),
    ],
)
def test_user_guide_examples(template: str, body: str) -> None:
    assert transformed(EC2_PATHS, template, EC2_EVENT) == body


def test_user_guide_reserved_variables_in_json() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n'
        '  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}'
    )
    body = transformed(EC2_PATHS, template, EC2_EVENT)
    assert body is not None
    delivered = json.loads(body)
    assert delivered["instance"] == "i-0123456789"
    assert delivered["ruleArn"] == RULE_ARN
    assert delivered["ruleName"] == "rule-1"
    assert "detail" not in delivered["originalEvent"]
    assert delivered["originalEvent"]["detailType"] == "EC2 Instance State-change Notification"


def test_json_is_minified_outside_strings_only() -> None:
    body = transformed(EC2_PATHS, '{ "a b" : "  <state>  " ,\n\t"c": [ 1 , 2 ] }', EC2_EVENT)
    assert body == '{"a b":"  RUNNING  ","c":[1,2]}'


def test_angle_brackets_around_spaces_are_text() -> None:
    assert (
        transformed(EC2_PATHS, '"a < b and c > d: <state>"', EC2_EVENT)
        == '"a < b and c > d: RUNNING"'
    )


# -- the values themselves ---------------------------------------------------------------------


def test_values_are_immutable_and_the_paths_keep_their_order() -> None:
    transformer = InputTransformer.of({"b": "$.b", "a": "$.a"}, '"<a><b>"')
    assert transformer.paths == (("b", "$.b"), ("a", "$.a"))
    assert dict(transformer.paths) == {"b": "$.b", "a": "$.a"}
    value = TargetInput(transformer=transformer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.input = "{}"  # type: ignore[misc]
    assert hash(value) == hash(
        TargetInput(transformer=InputTransformer.of({"b": "$.b", "a": "$.a"}, '"<a><b>"'))
    )


def test_paths_and_template_are_compiled_once() -> None:
    value = TargetInput(transformer=InputTransformer.of(EC2_PATHS, '"<state>"'))
    validate_target_input("t", value)
    assert value.transformer is not None
    assert value.transformer.compiled_template is value.transformer.compiled_template
    assert value.transformer.compiled_paths is value.transformer.compiled_paths


# -- validation at PutTargets ----------------------------------------------------------------

TRANSFORMER = InputTransformer.of(EC2_PATHS, '"<state>"')


@pytest.mark.parametrize(
    "value",
    [
        TargetInput(input="{}", input_path="$.detail"),
        TargetInput(input="{}", transformer=TRANSFORMER),
        TargetInput(input_path="$.detail", transformer=TRANSFORMER),
        TargetInput(input="{}", input_path="$.detail", transformer=TRANSFORMER),
    ],
)
def test_only_one_option_may_be_set(value: TargetInput) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_target_input("target-1", value)
    assert caught.value.message == (
        "Only one of Input, InputPath, or InputTransformer must be provided for target target-1."
    )
    assert caught.value.code == "ValidationException"


@pytest.mark.parametrize(
    "value",
    [
        TargetInput(),
        TargetInput(input='"text"'),
        TargetInput(input="[1, 2]"),
        TargetInput(input='"' + "a" * 8190 + '"'),  # 8192 characters
        TargetInput(input_path="$"),
        TargetInput(input_path="$." + "a" * 254),  # 256 characters
        TargetInput(transformer=InputTransformer.of({}, '"<aws.events.rule-arn>"')),
        TargetInput(transformer=InputTransformer.of({}, '{"e": <aws.events.event.json>}')),
        TargetInput(transformer=InputTransformer.of({f"k{i}": "$.a" for i in range(100)}, '"x"')),
        TargetInput(transformer=InputTransformer.of({"k" * 256: "$.a"}, "x" * 8192)),
        TargetInput(transformer=InputTransformer.of({"A-z_9": "$.resources[0]"}, "<A-z_9>")),
    ],
)
def test_valid_target_inputs_pass(value: TargetInput) -> None:
    validate_target_input("target-1", value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (TargetInput(input="{not json"), "Input for target target-1 is not a valid JSON text."),
        (TargetInput(input=""), "Input for target target-1 is not a valid JSON text."),
        (TargetInput(input="NaN"), "Input for target target-1 is not a valid JSON text."),
        (TargetInput(input="{} {}"), "Input for target target-1 is not a valid JSON text."),
        (
            TargetInput(input='"' + "a" * 8191 + '"'),
            "Input for target target-1 must have length less than or equal to 8192.",
        ),
        (
            TargetInput(input_path="$." + "a" * 255),
            "InputPath for target target-1 must have length less than or equal to 256.",
        ),
        (
            TargetInput(input_path="detail"),
            "InputPath for target target-1 is not a valid JSON path.",
        ),
        (TargetInput(input_path="$..a"), "InputPath for target target-1 is not a valid JSON path."),
    ],
)
def test_invalid_input_and_input_path(value: TargetInput, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_target_input("target-1", value)
    assert caught.value.message == message


def transformer_error(paths: dict[str, str], template: str) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_target_input(
            "target-1", TargetInput(transformer=InputTransformer.of(paths, template))
        )
    return caught.value.message


def test_recorded_undefined_placeholder() -> None:
    template = '"Event of <detail-type> type, with not defined key <notdefinedkey>"'
    assert transformer_error(COMMAND_PATHS, template) == (
        "InputTemplate for target target-1 contains invalid placeholder notdefinedkey."
    )


@pytest.mark.parametrize("name", ["aws.events.event", "aws.events.event.json"])
@pytest.mark.parametrize("template", ['"seen <{name}>"', '{{"a": "<{name}>"}}'])
def test_event_variables_only_as_json_values(name: str, template: str) -> None:
    assert transformer_error({}, template.format(name=name)) == (
        f"InputTemplate for target target-1 can use placeholder {name} only as a JSON value."
    )


@pytest.mark.parametrize(
    ("paths", "template", "message"),
    [
        ({}, "", "InputTemplate for target target-1 must have length greater than or equal to 1."),
        (
            {},
            "x" * 8193,
            "InputTemplate for target target-1 must have length less than or equal to 8192.",
        ),
        (
            {f"k{i}": "$.a" for i in range(101)},
            '"x"',
            "InputPathsMap for target target-1 must have at most 100 entries.",
        ),
        ({"a.b": "$.a"}, '"x"', "InputPathsMap for target target-1 contains invalid key a.b."),
        ({"AWS.x": "$.a"}, '"x"', "InputPathsMap for target target-1 contains invalid key AWS.x."),
        ({"a b": "$.a"}, '"x"', "InputPathsMap for target target-1 contains invalid key a b."),
        ({"": "$.a"}, '"x"', "InputPathsMap for target target-1 contains invalid key ."),
        (
            {"k" * 257: "$.a"},
            '"x"',
            f"InputPathsMap for target target-1 contains invalid key {'k' * 257}.",
        ),
        (
            {"k": "$." + "a" * 255},
            '"<k>"',
            "InputPathsMap path for key k of target target-1 must have length less than or "
            "equal to 256.",
        ),
        (
            {"k": "$['detail']"},  # bracket notation is not allowed in InputPathsMap
            '"<k>"',
            "InputPathsMap for target target-1 contains invalid JSON path $['detail'].",
        ),
        (
            {"k": "$.a..b"},
            '"<k>"',
            "InputPathsMap for target target-1 contains invalid JSON path $.a..b.",
        ),
    ],
)
def test_invalid_transformers(paths: dict[str, str], template: str, message: str) -> None:
    assert transformer_error(paths, template) == message


# -- properties -------------------------------------------------------------------------------

keys = st.text(alphabet="abcdefgh-_/:", min_size=1, max_size=5)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=15,
)
events = st.dictionaries(keys, values, min_size=1, max_size=4)


@st.composite
def reachable(draw: st.DrawFn, event: dict[str, Any]) -> tuple[str, Any]:
    """A dot-notation path (indices in brackets) to some value of `event`, and the value."""
    text, node = "$", event
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        if isinstance(node, dict):
            key = draw(st.sampled_from(sorted(node)))
            text, node = f"{text}.{key}", node[key]
        else:
            index = draw(st.integers(0, len(node) - 1))
            text, node = f"{text}[{index}]", node[index]
    return text, node


@given(st.data(), events)
def test_input_path_renders_exactly_the_selected_value(
    data: st.DataObject, event: dict[str, Any]
) -> None:
    path, value = data.draw(reachable(event))
    body = render(TargetInput(input_path=path), event)
    assert body is not None
    assert json.loads(body) == value
    assert body == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(st.data(), events)
def test_a_template_of_bare_placeholders_holds_the_selected_values(
    data: st.DataObject, event: dict[str, Any]
) -> None:
    chosen = data.draw(st.lists(reachable(event), min_size=1, max_size=5))
    paths = {f"v{i}": path for i, (path, _) in enumerate(chosen)}
    template = "{" + ", ".join(f'"k{i}": <v{i}>' for i in range(len(chosen))) + "}"
    body = transformed(paths, template, event)
    assert body is not None
    assert json.loads(body) == {f"k{i}": value for i, (_, value) in enumerate(chosen)}
