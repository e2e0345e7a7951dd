"""dlnuf: a SIRET in, verified company facts out, forms pre-filled."""
