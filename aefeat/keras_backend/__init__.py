"""Keras on TensorFlow: building the autoencoder and fitting it. The only layer that imports
TensorFlow."""

# Set by the command line (one process per command): import Keras without the optional modules
# it loads at import but aefeat never uses through it (see ``build._lean_import``), and keep the
# objects the import built out of later garbage collections (``build._collector_paused``), and
# keep TensorFlow's C++ start-up lines off stderr (``build._cpp_logs_off``). The Python API
# leaves it False, so a user's own Keras, TensorFlow logging and objects are as usual.
LEAN_IMPORT = False
