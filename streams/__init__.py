"""tierflow: streams."""
