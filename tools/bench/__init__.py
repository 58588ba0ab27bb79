"""`make bench`: how synthesis scales with the number of consumer accounts."""
