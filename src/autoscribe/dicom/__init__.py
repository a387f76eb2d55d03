"""The DICOM edge (Avara's PACS side): a DIMSE listener (C-ECHO, C-STORE, Modality Worklist
C-FIND) routing associations by called AE title to a clinic, the archive index of received
instances, study seeding with `patient_study.enrichment_requested`, and DICOMweb under /dicomweb.
"""
