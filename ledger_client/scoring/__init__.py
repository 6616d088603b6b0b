"""Credit scores from what the chain lets a member see: features, models, attested scores."""
