"""Small utilities the stages share: safe output folders, limits, threads, interrupts,
validation and multi-core blocks."""
