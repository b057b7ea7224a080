"""Venues: every source of market data behind one interface (``base.Venue``)."""
