"""Controllers: loops that read the store and write back status and events."""
