"""Memory replay and gradient episodic memory: keep old tasks alive with stored or generated data."""
