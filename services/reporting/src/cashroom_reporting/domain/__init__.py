"""The reports' rules, pure: no database, no network, no clock (dates are passed in)."""
