"""LCBench-style learning-curve datasets: LCBench's search space, a sampler that evaluates random
configurations for the full number of epochs, and export/import in LCBench's JSON layout and parquet."""
