"""Trading signals: storage, queries and the signals API."""
