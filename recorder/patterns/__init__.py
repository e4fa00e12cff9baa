"""Flow patterns: linear (in order), unordered (any order) and graph (by data and links)."""
