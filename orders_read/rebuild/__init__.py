"""Rebuilding projections from the event store into new tables, verifying live tables against
a fresh replay, and the processes a replay runs in."""
