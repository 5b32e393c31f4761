"""The shapes (topologies): each owns the objects it renders."""
