"""tierflow's benchmarks: each `bench_*.py` prints rates and a ratio against a baseline
measured in the same run (`python -m bench` runs them all)."""
