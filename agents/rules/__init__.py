"""tierflow: agents/rules."""
