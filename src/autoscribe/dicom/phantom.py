"""A synthetic chest CT for the sample study: real CT Image Storage objects, made on the spot.

Nothing is shipped or downloaded: the anatomy is a handful of ellipses in Hounsfield units (body
wall, lungs, heart, aorta, spine, sternum) with a little noise, and one 14 mm nodule in the right
lower lobe to find. Every second slice is JPEG-LS lossless, as archives send them, so the sample
exercises the archive's transcoding too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEGLSLossless, generate_uid

FIELD_OF_VIEW_MM = 360.0
SLICE_MM = 5.0


@dataclass(frozen=True)
class PatientHeader:
    name: str = "SAMPLE^CHEST"
    patient_id: str = "SAMPLE-0001"
    birth_date: str = "19610314"
    sex: str = "F"
    accession: str = "SAMPLE-1"
    description: str = "CT CHEST WITHOUT CONTRAST"
    referring: str = "SAMPLE^REFERRER"
    institution: str = "AutoScribe Sample Hospital"


def _ellipse(y: np.ndarray, x: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    inside: np.ndarray = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0
    return inside


def slice_hu(index: int, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Hounsfield units of axial slice `index` of `count` (apex first), `size` x `size` pixels."""
    mm = FIELD_OF_VIEW_MM / size
    centre = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    y, x = (y - centre) * mm, (x - centre) * mm  # millimetres from the centre; +y is posterior
    z = index / max(count - 1, 1)  # 0 at the apex, 1 at the lung bases
    lung_scale = 0.55 + 0.45 * np.sin(np.pi * min(0.15 + z, 1.0) / 1.15)

    image = np.full((size, size), -1000.0)  # air
    image[_ellipse(y, x, 0, 0, 115, 160)] = -100.0  # subcutaneous fat
    image[_ellipse(y, x, 0, 0, 105, 150)] = 40.0  # chest wall muscle
    for side in (-1, 1):
        lung = _ellipse(y, x, -5, side * 62, 80 * lung_scale, 52 * lung_scale)
        image[lung] = -860.0
        # Vessels branching into the lung: small denser dots.
        for k in range(6):
            angle = k * np.pi / 3 + index * 0.05
            vy, vx = -5 + 40 * lung_scale * np.sin(angle), side * 62 + 28 * lung_scale * np.cos(angle)
            image[lung & _ellipse(y, x, vy, vx, 2.5, 2.5)] = 30.0
    if z > 0.3:  # the heart sits low, slightly to the patient's left (image right)
        grow = min((z - 0.3) / 0.3, 1.0)
        image[_ellipse(y, x, -20, 22, 48 * grow + 1, 58 * grow + 1)] = 45.0
    image[_ellipse(y, x, 22, 16 if z > 0.25 else 0, 13, 13)] = 50.0  # descending aorta / arch
    image[_ellipse(y, x, -88, 0, 7, 14)] = 400.0  # sternum
    image[_ellipse(y, x, 70, 0, 17, 17)] = 1100.0  # vertebral body, cortex
    image[_ellipse(y, x, 70, 0, 14, 14)] = 250.0  # and its marrow
    image[_ellipse(y, x, 48, 0, 8, 10)] = 20.0  # spinal canal

    # The finding: a 14 mm solid nodule in the right lower lobe (image left), 7 mm radius sphere.
    nodule_z = 0.7 * (count - 1) * SLICE_MM
    dz = index * SLICE_MM - nodule_z
    if abs(dz) < 7:
        radius = float(np.sqrt(49 - dz**2))
        image[_ellipse(y, x, 10, -70, radius, radius)] = 35.0
    return image + rng.normal(0, 10, size=(size, size))


def chest_ct(
    study_uid: str,
    *,
    slices: int = 40,
    size: int = 256,
    header: PatientHeader | None = None,
    study_date: str = "20261201",
    compress_every: int = 2,
    seed: int = 1,
) -> Iterator[bytes]:
    """The series' Part 10 objects, apex first (every `compress_every`th one JPEG-LS lossless)."""
    header = header or PatientHeader()
    rng = np.random.default_rng(seed)
    series_uid, frame_of_reference = generate_uid(), generate_uid()
    for index in range(slices):
        hu = slice_hu(index, slices, size, rng)
        stored = np.clip(np.round(hu) + 1024, 0, 4095).astype(np.uint16)
        ds = _dataset(study_uid, series_uid, frame_of_reference, index, size, header, study_date)
        ds.PixelData = stored.tobytes()
        if compress_every and index % compress_every == 0:
            ds.compress(JPEGLSLossless, generate_instance_uid=False)
        out = BytesIO()
        ds.save_as(out, enforce_file_format=True)
        yield out.getvalue()


def _dataset(
    study_uid: str,
    series_uid: str,
    frame_of_reference: str,
    index: int,
    size: int,
    header: PatientHeader,
    study_date: str,
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_of_reference
    ds.Modality = "CT"
    ds.Manufacturer = "AutoScribe sample"
    ds.PatientName = header.name
    ds.PatientID = header.patient_id
    ds.PatientBirthDate = header.birth_date
    ds.PatientSex = header.sex
    ds.AccessionNumber = header.accession
    ds.StudyDescription = header.description
    ds.SeriesDescription = "Axial 5 mm"
    ds.BodyPartExamined = "CHEST"
    ds.InstitutionName = header.institution
    ds.ReferringPhysicianName = header.referring
    ds.StudyDate = ds.SeriesDate = study_date
    ds.StudyTime = ds.SeriesTime = "083000"
    ds.StudyID = "1"
    ds.SeriesNumber = 2
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [-FIELD_OF_VIEW_MM / 2, -FIELD_OF_VIEW_MM / 2, -index * SLICE_MM]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = -index * SLICE_MM
    ds.PixelSpacing = [FIELD_OF_VIEW_MM / size, FIELD_OF_VIEW_MM / size]
    ds.SliceThickness = SLICE_MM
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = -600
    ds.WindowWidth = 1500
    ds.KVP = 120
    return ds
