"""Helpers the tests share: a real server process on a free loopback port, AWS clients."""
