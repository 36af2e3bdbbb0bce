"""Selective synaptic plasticity: guard the parameters that matter to earlier tasks."""
