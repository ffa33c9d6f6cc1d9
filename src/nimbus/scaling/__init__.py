"""Queue-driven autoscaling: how many consumers a backlog needs, and the fleets that poll."""
