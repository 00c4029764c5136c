"""The ledger's pure domain: no I/O, no clock. See ``ledger.Ledger`` for how it fits together."""
