"""nimbus: a self-hosted serverless platform that speaks the AWS APIs."""

__version__ = "0.1.0"
