"""``python -m desktop`` starts Veil exactly like the ``veil`` console script."""

from desktop.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
