"""The SpikeCore chip: target descriptions, the ISA, assembly text, the binary image and the
bit-exact hardware model.

Nothing here imports xDSL, TVM or torch (a test enforces it): the chip's contract stands on its own,
so a program can be assembled, loaded and run with numpy alone.
"""
