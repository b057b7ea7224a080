"""The server-rendered dashboard: one page over the same repositories as the API."""
