"""The ground floor every package may use: settings, lake paths, atomic publishing, errors,
shards and the contracts' time bounds. It imports nothing else of the project."""
