-- Record the next offset to read per topic partition, in the batch's transaction.
INSERT OR REPLACE INTO sink_offsets BY NAME SELECT * FROM batch_offsets
