"""``python -m edgewatch.jobs worker|scheduler``: see ``edgewatch.jobs.cli.main``."""

from edgewatch.jobs.cli import main

if __name__ == "__main__":
    main()
