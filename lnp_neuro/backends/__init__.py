"""Execution back ends: each runs a SpikingNetwork on one target (Lava, norse); the native simulator lives in lnp_neuro.simulator."""
