"""Runnable studies of ascentjax. Run each with ``python -m sims.<name> --help``."""
