"""Scorecards: the criteria QA scores a call on, from YAML (loader.py, default.yaml)."""
