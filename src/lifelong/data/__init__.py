"""Data sources: raw examples only (no tasks, no scenarios)."""
