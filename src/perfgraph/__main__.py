"""`python -m perfgraph`: the same as the `perfgraph` command."""

from perfgraph.cli.main import main

if __name__ == "__main__":
    main()
