"""Leave-one-dataset-out portfolios: the held-out dataset's column and its own candidate are gone."""
from autodl.portfolio.greedy import leave_one_dataset_out


def test_held_out_column_and_candidate_are_removed_before_the_pick():
    matrix = {"datasets": ["a", "b", "c"],
              "candidates": [{"source": "a"}, {"source": "b"}, {"source": "c"}],
              # candidate 0 (found on a) is best everywhere; without it, candidate 2 wins on b and c
              "errors": [[0.0, 0.0, 0.0], [0.5, 0.4, 0.9], [0.9, 0.2, 0.1]]}
    assert leave_one_dataset_out(matrix, "a", 1) == ([2], ["b", "c"])
    assert leave_one_dataset_out(matrix, "c", 1) == ([0], ["a", "b"])
