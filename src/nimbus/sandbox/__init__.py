"""Execution environments: the zygote, limits (cgroups, rlimits, namespaces) and runtimes."""
