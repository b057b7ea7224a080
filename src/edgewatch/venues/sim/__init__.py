"""The market simulator: two simulated venues listing overlapping events with a known truth."""
