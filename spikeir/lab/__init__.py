"""SpikeCore Lab: the MNIST data, training, figures and the end-to-end lab pipeline (`spikeir lab`)."""
