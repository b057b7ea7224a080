"""Record a venue, and play recordings back as the ``replay`` venue."""
