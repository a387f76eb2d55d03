"""The integrator's image URLs merged after the archive's: a URL naming an archived instance is
dropped, matched on whole UIDs (1.2.3.4 is not named by a URL of 1.2.3.45)."""

from __future__ import annotations

from autoscribe.dicom.viewing import ArchivedImages, merge_answer


def test_urls_of_archived_instances_are_dropped_by_whole_uid() -> None:
    archived = ArchivedImages(
        urls=["/workspace/stu_1/archive/1.2.3.4"],
        manifest={"studyInstanceUID": "1.2", "series": []},
        sop_instance_uids=frozenset({"1.2.3.4"}),
    )
    answer = {
        "authorized": True,
        "urls": [
            "https://pacs.test/wado?objectUID=1.2.3.4&contentType=application/dicom",  # archived
            "https://bucket.test/studies/1.2/1.2.3.45.dcm?X-Amz-Signature=ab12",  # another instance
        ],
        "manifest": {"studyInstanceUID": "1.2", "series": [{"seriesInstanceUID": "9.9"}]},
    }
    merged = merge_answer(archived, answer)
    assert merged["urls"] == ["/workspace/stu_1/archive/1.2.3.4", answer["urls"][1]]
    assert merged["manifest"] == [archived.manifest, answer["manifest"]]
    assert merged["authorized"] is True
