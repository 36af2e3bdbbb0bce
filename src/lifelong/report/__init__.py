"""Reports: pure functions of stored result rows (no torch import): tables, plots, HTML."""
