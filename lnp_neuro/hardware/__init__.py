"""What a run costs on hardware: profiles, placement on cores, SOPs and energy, and
NeuroBench's metrics (design section 5)."""
