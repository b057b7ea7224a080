"""The market catalogue: markets, their quotes and cross-venue links."""
