"""Post-deploy smoke test: is a running Edgewatch answering the way it should?"""
