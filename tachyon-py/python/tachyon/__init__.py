"""Tachyon Engine."""
