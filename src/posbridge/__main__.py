"""`python -m posbridge`."""

from posbridge.cli import main

if __name__ == "__main__":  # worker processes re-import this module: run only when executed
    main()
