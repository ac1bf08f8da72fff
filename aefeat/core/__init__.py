"""The numerical core: parameters, the network's architecture and NumPy forward pass, data
preparation and the encode kernel. NumPy only: no I/O, no TensorFlow, no pandas."""
