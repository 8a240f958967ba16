"""A real Kamailio on 127.0.0.1 for tests and the ``lab`` CLI, and traffic injection."""
