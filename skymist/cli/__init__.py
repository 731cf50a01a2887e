"""The ``skymist`` admin command line."""
