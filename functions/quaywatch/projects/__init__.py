"""Projects: imported images that quaywatch tests, re-tests and reports on."""
