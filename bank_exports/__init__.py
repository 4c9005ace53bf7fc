"""ISO 20022 and postal files: pain.001 writer, postal CSV, manifest; readers for returns. Files in, records out.

Writers: pain001.write_pain001 (TRF + CHK, streamed, XSD-valid), postal.write_postal_list, manifest.write_manifest,
export_bundle.write_export (all three at once); return_files.* writes camt.054/053, pain.002 and pacs.004 for demos and
tests. Readers: returns.read_returns (pain.002, camt.054, camt.053, pacs.004 of any version, postal return CSV) and
returns.expand_records for whole-file and whole-block statuses. Checks and text: payments, checks, text; safe XML
parsing: safexml; XSD validation: xsd.
"""
