"""Lambda functions: deployment packages, registry, versions, invocation."""
