"""Test data: CT series made with pydicom (16-bit signed, a different pattern per slice), and
compressed copies made with DCMTK (dcmcjpls, dcmcjpeg, dcmcrle)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

CT_SOP_CLASS = CTImageStorage


@dataclass
class Series:
    study_uid: str
    series_uid: str
    paths: list[Path]
    pixels: dict[str, np.ndarray]  # SOP Instance UID -> pixels as generated

    @property
    def sop_uids(self) -> list[str]:
        return list(self.pixels)


def ct_slice(
    study_uid: str,
    series_uid: str,
    index: int,
    *,
    rows: int = 64,
    columns: int = 64,
    patient_name: str = "DOE^JANE",
    patient_id: str = "PID-001",
    accession: str = "ACC-001",
    study_description: str = "CT CHEST WITHOUT CONTRAST",
    study_date: str = "20261204",
) -> tuple[Dataset, np.ndarray]:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT_SOP_CLASS
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = "CT"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.PatientAge = "056Y"
    ds.AccessionNumber = accession
    ds.StudyDescription = study_description
    ds.StudyDate = study_date
    ds.StudyTime = "101500"
    ds.InstitutionName = "DICOM Header Hospital"
    ds.ReferringPhysicianName = "WHO^REFERRED"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = index + 1
    ds.SeriesDescription = "Axial 1mm"
    ds.ImagePositionPatient = [0, 0, index]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 1
    ds.Rows = rows
    ds.Columns = columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    y, x = np.mgrid[0:rows, 0:columns]
    pixels = ((x * 17 + y * 5 + index * 97) % 2000 - 600).astype(np.int16)
    ds.PixelData = pixels.tobytes()
    return ds, pixels


def ct_series(
    directory: Path,
    count: int = 10,
    *,
    jpeg_ls_every: int = 0,
    rows: int = 64,
    columns: int = 64,
    study_uid: str | None = None,
    **header: str,
) -> Series:
    """`count` CT slices as files in `directory`; with jpeg_ls_every=2, every second one is
    JPEG-LS lossless (dcmcjpls)."""
    directory.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    paths: list[Path] = []
    pixels: dict[str, np.ndarray] = {}
    for i in range(count):
        ds, arr = ct_slice(study_uid, series_uid, i, rows=rows, columns=columns, **header)
        path = directory / f"ct{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        if jpeg_ls_every and i % jpeg_ls_every == 0:
            compress(path, "jpeg-ls")
        paths.append(path)
        pixels[str(ds.SOPInstanceUID)] = arr
    return Series(study_uid, series_uid, paths, pixels)


_TOOLS = {
    "jpeg-ls": ["dcmcjpls", "--encode-lossless"],
    "jpeg-lossless": ["dcmcjpeg", "--encode-lossless-sv1"],
    "jpeg-baseline": ["dcmcjpeg", "--encode-baseline"],
    "rle": ["dcmcrle"],
}


def compress(path: Path, kind: str) -> Path:
    """Replace `path` with a compressed copy made by DCMTK."""
    out = path.with_suffix(".tmp.dcm")
    subprocess.run([*_TOOLS[kind], str(path), str(out)], check=True, capture_output=True)
    out.replace(path)
    return path


def transfer_syntax(path: Path) -> str:
    return str(dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
