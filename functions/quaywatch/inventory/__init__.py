"""What is installed in an image: the data model and the analyzers that find it."""
