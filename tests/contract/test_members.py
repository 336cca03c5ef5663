"""Contract: members' records on the access repository (both adapters): field-by-field
updates that leave the other fields, the organisation's members in pages, organisation ids."""

from __future__ import annotations

from quaywatch.tenancy.members import MemberStore


def test_member_fields_are_updated_one_by_one_and_listed_per_organisation(adapters) -> None:
    repository = adapters.access_repository
    repository.update_member("org-1", "u1", {"email": "ann@example.com", "level": "critical_high"})
    repository.update_member("org-1", "u1", {"last_digest": {"at": "2026-12-07T07:00:00+00:00",
                                                              "counts": {"high": 2}}})
    repository.update_member("org-1", "u1", {"projects": {"p1": "none"}})
    assert repository.get_member("org-1", "u1") == {
        "user_id": "u1", "email": "ann@example.com", "level": "critical_high", "projects": {"p1": "none"},
        "last_digest": {"at": "2026-12-07T07:00:00+00:00", "counts": {"high": 2}}}
    assert repository.get_member("org-2", "u1") is None and repository.get_member("org-1", "nobody") is None

    for number in range(1205):  # more than one page of either adapter
        repository.update_member("org-2", f"u{number:04}", {"email": f"u{number}@example.com"})
    listed = [m["user_id"] for m in repository.members("org-2")]
    assert listed == sorted(listed) and len(listed) == 1205 and len(set(listed)) == 1205
    assert [m["user_id"] for m in repository.members("org-1")] == ["u1"]


def test_organisation_ids_and_member_defaults(adapters) -> None:
    repository = adapters.access_repository
    for org_id in ("org-b", "org-a"):
        repository.put_organisation(org_id, {"name": org_id, "channels": []})
    assert {"org-a", "org-b"} <= set(repository.organisation_ids())

    store = MemberStore(repository)
    fresh = store.get("org-a", "new-user", role="admin")
    assert (fresh.email, fresh.level, fresh.weekly_digest, fresh.role) == (None, "all", True, "admin")
    assert not fresh.wants("p", "critical")  # no address, no mail
    set_up = store.update("org-a", "new-user", {"email": "lee@example.com", "level": "critical_high",
                                               "projects": {"quiet": "none", "loud": "all"}})
    assert set_up.wants("p", "critical") and set_up.wants("p", "high") and not set_up.wants("p", "medium")
    assert not set_up.wants("quiet", "critical") and set_up.wants("loud", "low")
    assert [m.user_id for m in store.with_email("org-a")] == ["new-user"]
