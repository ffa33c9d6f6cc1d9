"""The HTTP face of nimbus: AWS wire protocols translated to service calls."""
