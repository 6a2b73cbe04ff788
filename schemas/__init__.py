"""tierflow: schemas."""
