"""New classes without forgetting: distil the previous model's outputs."""
