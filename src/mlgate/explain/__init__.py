"""What a model relies on (permutation importance) and how it reads its outputs (the task seam)."""
