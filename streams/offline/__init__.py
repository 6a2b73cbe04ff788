"""The offline tools: `tierflow replay` (the worker's use case over a history file), `tierflow
whatif` (one history under two programs) and the live-against-replay comparison."""
