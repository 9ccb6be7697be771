"""Between the IR and the chip: numpy <-> attribute conversion, emission of `spikecore` IR as ISA
programs, the IR interpreter and the host runtime for partitioned modules."""
