"""Fixtures every package's tests share: real PostgreSQL and Kafka (see cashroom_chassis.testing)."""

pytest_plugins = ["cashroom_chassis.testing"]
