"""Headless front ends: plain lines, JSON, summaries. Never imports textual."""
