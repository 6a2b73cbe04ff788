"""`python -m streams ...` runs the `tierflow` command line (how the demo starts children)."""

from streams.cli import main

main()
