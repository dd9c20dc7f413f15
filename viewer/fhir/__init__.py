"""FHIR R4 in and out: reading bundles safely, and the mapping from resources to timeline events."""
