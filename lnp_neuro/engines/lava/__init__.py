"""The Lava engine (lava-nc 0.10.0, Loihi 2 on the CPU): the process graph of a network,
our own processes, and what makes Lava import on Python 3.11."""
