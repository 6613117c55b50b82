"""Screens (one per task) and widgets (render what they are given, never fetch)."""
