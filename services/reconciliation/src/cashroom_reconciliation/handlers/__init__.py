"""The service's use cases: each takes a unit of work (the caller commits), loads what it needs,
calls the domain, and writes the outcome with the events it implies (outbox)."""
