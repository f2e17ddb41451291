"""Consumable resources (resource-aware scheduling): the API, the in-memory pool the
scheduler takes units from, and the gate that holds a queue's head until its units are there.
"""
