"""The Lambda context object handed to a Python handler."""

import time


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data=None):
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data):
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data):
        client = data.get("client")
        self.client = Client(client) if client else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """Attributes as the AWS Python runtime defines them."""

    def __init__(self, invoke, function):
        self.aws_request_id = invoke["request_id"]
        self.invoked_function_arn = invoke["invoked_arn"]
        self.function_name = function["name"]
        self.function_version = function["version"]
        # The AWS runtime passes the memory limit through as a string.
        self.memory_limit_in_mb = str(function["memory"])
        self.log_group_name = function["log_group"]
        self.log_stream_name = function["log_stream"]
        self.identity = CognitoIdentity(invoke.get("cognito_identity"))
        client_context = invoke.get("client_context")
        self.client_context = ClientContext(client_context) if client_context else None
        self._deadline_ms = invoke["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )
