"""Transfer syntaxes and SOP classes the DICOM edge speaks."""

from __future__ import annotations

from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

UNCOMPRESSED = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)
COMPRESSED = (
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
)
# What C-STORE accepts: the data set is kept in the syntax it came in.
STORAGE_TRANSFER_SYNTAXES: tuple[UID, ...] = UNCOMPRESSED + COMPRESSED

# DICOMweb media type parameters (PS3.18 8.7.3) for each transfer syntax of ours.
NAMES = {
    ExplicitVRLittleEndian: "Explicit VR Little Endian",
    ImplicitVRLittleEndian: "Implicit VR Little Endian",
    DeflatedExplicitVRLittleEndian: "Deflated Explicit VR Little Endian",
    ExplicitVRBigEndian: "Explicit VR Big Endian",
    JPEGBaseline8Bit: "JPEG Baseline",
    JPEGExtended12Bit: "JPEG Extended",
    JPEGLossless: "JPEG Lossless (Process 14)",
    JPEGLosslessSV1: "JPEG Lossless SV1",
    JPEGLSLossless: "JPEG-LS Lossless",
    JPEGLSNearLossless: "JPEG-LS Near-Lossless",
    JPEG2000Lossless: "JPEG 2000 Lossless",
    JPEG2000: "JPEG 2000",
    RLELossless: "RLE Lossless",
}

# Frame media types of the compressed syntaxes (WADO-RS frames, PS3.18 Table 8.7.3-2).
FRAME_MEDIA_TYPES = {
    JPEGBaseline8Bit: "image/jpeg",
    JPEGExtended12Bit: "image/jpeg",
    JPEGLossless: "image/jpeg",
    JPEGLosslessSV1: "image/jpeg",
    JPEGLSLossless: "image/jls",
    JPEGLSNearLossless: "image/jls",
    JPEG2000Lossless: "image/jp2",
    JPEG2000: "image/jp2",
    RLELossless: "image/x-dicom-rle",
}

MODALITY_WORKLIST_FIND = UID("1.2.840.10008.5.1.4.31")
VERIFICATION = UID("1.2.840.10008.1.1")


def name_of(uid: str) -> str:
    return NAMES.get(UID(uid), uid)
