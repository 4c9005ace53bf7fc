"""ISO 20022 and postal files: pain.001 writer, postal CSV, manifest; readers for returns. Files in, records out."""
