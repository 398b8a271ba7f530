"""Tools for developers, never imported by the platform: the data generator and the benchmark."""
