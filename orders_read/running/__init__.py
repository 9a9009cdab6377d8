"""Running the projections: inline in each command's transaction or on Celery workers,
catch-up, failures and retries, and where each projection stands."""
