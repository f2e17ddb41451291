"""AWS wire protocols (rest-json, json 1.0/1.1) driven by botocore's service models.

No service knows HTTP: a request is parsed and validated here into plain Python values, handed
to an operation handler, and the handler's plain return value is serialized here.
"""
