"""Registry sync: quaywatch follows each Quay registry by itself (issue 19). A sync refreshes
the integration's index of repositories, tags and digests (one queue message per
repository), then plans from it what its policy wants imported and what may be removed."""
