"""Language runtimes that run inside execution environments."""
