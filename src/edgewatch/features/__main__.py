"""``python -m edgewatch.features`` prints docs/features.md, rendered from the registry."""

from edgewatch.features.registry import render_docs

print(render_docs(), end="")
