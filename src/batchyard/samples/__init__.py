"""Runnable samples: deploy one to a running server and start it (``batchyard samples``)."""
