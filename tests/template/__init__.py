"""The template's own tests: its machinery (gates, report, serving, deploy, workflows), not your project."""
