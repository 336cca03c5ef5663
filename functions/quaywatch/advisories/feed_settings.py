"""Where the advisory sync downloads feeds from: the deployed AdvisorySyncFunction, ``serve
--sync-feeds`` and ``quaywatch advisories sync`` read the same ``QUAYWATCH_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeedSettings:
    """Where the advisory sync downloads feeds from (AdvisorySyncFunction only)."""

    osv_base_url: str = "https://osv-vulnerabilities.storage.googleapis.com"
    osv_ecosystems: tuple[str, ...] = ()
    alpine_secdb_url: str = "https://secdb.alpinelinux.org"
    alpine_releases: tuple[str, ...] = ()
    rating_feeds: tuple[str, ...] = ()  # NVD, KEV, EPSS file URLs, fetched whole when they changed
    nvd_api_url: str = ""  # the NVD CVE API 2.0, asked for what changed since the last sync ("" = not used)
    nvd_api_pause: float = 6.0  # seconds between API requests (NVD's public rate limit)
    cvelist_url: str = ""  # GitHub's releases API of CVEProject/cvelistV5 ("" = not used)
    redhat_vex_url: str = ""  # Red Hat's CSAF VEX directory: the archive once, then the changes ("" = not used)
    redhat_repository_cpe_url: str = ""  # Red Hat's repository-to-CPE mapping, fetched whole when it changed
    nvd_api_key: str = field(default="", repr=False)  # serve and the CLI: QUAYWATCH_NVD_API_KEY
    nvd_api_key_secret: str = ""  # deployed: the Secrets Manager secret holding {"api_key": ...}

    @classmethod
    def from_environment(cls) -> FeedSettings:
        return cls.from_variables(os.environ)

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> FeedSettings:
        """From ``QUAYWATCH_*`` variables (the process environment, or the template's
        defaults with the environment over them, as the CLI's own sync reads them)."""
        def words(name: str) -> tuple[str, ...]:
            return tuple(word.strip() for word in variables.get(name, "").split(",") if word.strip())

        return cls(
            osv_base_url=variables.get("QUAYWATCH_OSV_BASE_URL", cls.osv_base_url),
            osv_ecosystems=words("QUAYWATCH_OSV_ECOSYSTEMS"),
            alpine_secdb_url=variables.get("QUAYWATCH_ALPINE_SECDB_URL", cls.alpine_secdb_url),
            alpine_releases=words("QUAYWATCH_ALPINE_RELEASES"),
            rating_feeds=words("QUAYWATCH_RATING_FEED_URLS"),
            nvd_api_url=variables.get("QUAYWATCH_NVD_API_URL", ""),
            nvd_api_pause=float(variables.get("QUAYWATCH_NVD_API_PAUSE", "6")),
            cvelist_url=variables.get("QUAYWATCH_CVELIST_RELEASES_URL", ""),
            redhat_vex_url=variables.get("QUAYWATCH_REDHAT_VEX_URL", ""),
            redhat_repository_cpe_url=variables.get("QUAYWATCH_REDHAT_REPOSITORY_CPE_URL", ""),
            nvd_api_key=variables.get("QUAYWATCH_NVD_API_KEY", ""),
            nvd_api_key_secret=variables.get("QUAYWATCH_NVD_API_KEY_SECRET", ""),
        )
