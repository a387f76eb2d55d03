"""Clinical-context enrichment: `clinical_context.enrichment_requested` on a study's first read."""
