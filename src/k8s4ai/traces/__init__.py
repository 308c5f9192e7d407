"""Readers for public cluster traces, with errors that name the file, line and column."""
