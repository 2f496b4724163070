"""Hyperparameter importance: fANOVA (functional ANOVA over a random-forest surrogate) and local
parameter importance around the incumbent, for autodl BOHB runs and LCBench-style data."""
