"""Deployment target definitions (data files, one per target); read by lnp_neuro.deploy.targets."""
