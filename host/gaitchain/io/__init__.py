"""Reading and writing recordings: the open recording format, importers and exporters."""
