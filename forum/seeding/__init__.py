"""Synthetic forum data for forum-seed and forum-bench."""
