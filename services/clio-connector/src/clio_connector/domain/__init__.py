"""The connector's pure domain: sync settings, Clio field lists and normalisation. No I/O."""
