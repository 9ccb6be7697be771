"""Design-space exploration: `spikeir sweep` (compile options x evaluation set, on Ray or in-process)."""
