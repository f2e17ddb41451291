"""The Step Functions service: the ASL language, the durable engine and the API around them."""
