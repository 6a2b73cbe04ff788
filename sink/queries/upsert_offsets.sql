-- Record the next offset to read per topic partition, in the batch's transaction.
DELETE FROM sink_offsets
WHERE (topic, "partition") IN (SELECT (topic, "partition") FROM batch_offsets);

INSERT INTO sink_offsets BY NAME SELECT * FROM batch_offsets;
