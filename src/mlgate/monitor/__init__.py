"""Production monitoring: the prediction log, delayed feedback, drift and decay checks, the GitHub issue."""
