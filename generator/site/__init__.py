"""The internal resource site: a thin MkDocs plugin that turns the project into pages."""
