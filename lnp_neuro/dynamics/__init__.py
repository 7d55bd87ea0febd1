"""The dynamics of a network: its operating point and linear rate dynamics, Lyapunov
spectra of flows, maps and networks, and the spiking twin divergence (design section 2)."""
