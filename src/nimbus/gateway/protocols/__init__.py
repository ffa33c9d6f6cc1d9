"""AWS wire protocols (rest-json, json, rest-xml, query), each driven by botocore models."""
