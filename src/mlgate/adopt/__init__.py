"""`mlgate init`: adopt the user's dataset (infer.py decides from the data, project.py writes the project)."""
