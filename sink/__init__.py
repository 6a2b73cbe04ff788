"""tierflow: sink."""
