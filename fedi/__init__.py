"""fedi: the application (an association's instance, the national relay, storage, queues, CLI)."""

__version__ = "0.1.0"
