"""Baselines: finetune (the lower bound), joint (the upper bound), cumulative, independent."""
