"""Tooling: the benchmark behind `manage.py bench`, its bulk loader and drain, and the demo
data of `manage.py seed_demo`.

Production code never imports this app; only its commands and the tests do.
"""
