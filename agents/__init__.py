"""tierflow: agents."""
