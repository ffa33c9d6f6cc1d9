"""Property: no request a client can sign makes the Lambda API answer 5xx or die."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PATHS = [
    "/2015-03-31/functions",
    "/2015-03-31/functions/{name}",
    "/2015-03-31/functions/{name}/configuration",
    "/2015-03-31/functions/{name}/code",
    "/2015-03-31/functions/{name}/invocations",
    "/2017-10-31/functions/{name}/concurrency",
    "/2019-09-30/functions/{name}/concurrency",
    "/2016-08-19/account-settings",
    "/2015-03-31/functions/{name}/versions",
    "/2015-03-31/nonsense/{name}",
]
NAMES = st.one_of(
    st.sampled_from(["fuzzed", "missing", "arn:aws:lambda:us-east-1:000000000000:function:fuzzed",
                     "fuzzed:$LATEST", "fuzzed:9", "a" * 200, "..", "%00"]),
    st.text(min_size=1, max_size=30),
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["FunctionName", "Runtime", "Role", "Handler", "Code", "MemorySize", "Timeout",
     "Environment", "Publish", "EphemeralStorage", "Architectures", "ZipFile",
     "ReservedConcurrentExecutions", "Description"]
)  # fmt: skip
BODIES = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(FIELDS, JSON_VALUES, max_size=6).map(
        lambda d: __import__("json").dumps(d).encode()
    ),
)
HEADERS = st.dictionaries(
    st.sampled_from(
        ["X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context", "Content-Type"]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    max_size=3,
)


def send(
    endpoint: str, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
) -> int:
    url = f"{endpoint}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        target = prepared.url[len(endpoint) :]
        connection.request(method, target, body=body, headers=dict(prepared.headers))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    template=st.sampled_from(PATHS),
    name=NAMES,
    query=st.sampled_from(
        ["", "Qualifier=1", "Qualifier=$LATEST", "MaxItems=0", "MaxItems=abc", "Marker=zz"]
    ),
    body=BODIES,
    headers=HEADERS,
)
def test_no_request_gets_a_5xx(nimbus_server: Any, method: str, template: str, name: str,
                               query: str, body: bytes, headers: dict[str, str]) -> None:  # fmt: skip
    path = template.format(name=quote(name, safe=""))
    status = send(nimbus_server.endpoint, method, path, query, body, headers)
    assert status < 500 or status == 501, (method, path, query, body, headers, status)


def test_server_still_serves_after_fuzzing(nimbus_server: Any) -> None:
    assert (
        nimbus_server.client("lambda").list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
