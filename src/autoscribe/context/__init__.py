"""Clinical-context enrichment: `clinical_context.enrichment_requested` when a study's report starts."""
