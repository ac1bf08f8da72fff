"""Keras on TensorFlow: building the autoencoder and fitting it. The only layer that imports
TensorFlow."""
