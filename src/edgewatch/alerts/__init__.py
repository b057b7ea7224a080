"""In-app alerting: the Prometheus rules evaluated inside Edgewatch, and notifications."""
