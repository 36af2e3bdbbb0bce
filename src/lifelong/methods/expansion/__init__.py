"""Additional neural resources: give new tasks new capacity, efficiently."""
