"""Renderers: the versioned JSON/YAML envelope every command shares, and rich text views. Output is a
contract: golden files in tests/golden hold what users see."""
