"""What every AWS-shaped service here repeats: ARNs, the caller's account and region,
pagination tokens, tags, JSON documents, clocks and resource lifecycles.

Nothing in this package knows a particular service; each service brings its own error texts.
"""
