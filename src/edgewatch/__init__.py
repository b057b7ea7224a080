"""Edgewatch: prediction-market intelligence."""
