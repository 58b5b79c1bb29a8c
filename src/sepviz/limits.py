"""The stated bounds of sepviz: what a flag, a model file or a slider may ask for.

Every size a user or a file chooses is checked against one of these before anything is
allocated, and the messages (and ``sepviz --help``) quote them. A bound is far above what the
book uses and below what a laptop can hold; each says why it is where it is. No imports: the
command line reads them for ``--help`` without loading torch.
"""

from __future__ import annotations

MAX_IMAGE_SIZE = 256
"""The largest image side (``--size``, a model file's ``image_size``): the book trains at 32
and 64 px; a 512-px model does not train on a laptop."""
MAX_LATENT_DIM = 4096
"""The longest latent vector (``--latent-dim``, ``latent_dim``): 64 times the book's 64, far
past where the probes find anything new, small enough for the linear layers' memory."""
MAX_NAMES = 16
"""The most decoders (DeepFakes identities, MultiDecoder classes) a model file may have."""
MAX_NAME_LENGTH = 64
"""The longest decoder name (it becomes an ``nn.ModuleDict`` key and an ONNX file name)."""
CONFIG_BOUNDS: dict[str, tuple[int, int]] = {
    "image_size": (16, MAX_IMAGE_SIZE),
    "latent_dim": (1, MAX_LATENT_DIM),
    "attribute_dim": (1, 64),  # FaderNet's y: one number per attribute
    "n_bins": (2, 256),  # FaderNet's discriminator classes per attribute
    "discriminator_steps": (1, 100),  # discriminator updates per step (time, not memory)
    "memory": (2, 1 << 20),  # FaderNet's remembered latents: memory x latent_dim floats
    "discriminator_batch": (1, 1 << 20),  # latents per discriminator update
}
"""Inclusive bounds of a model config's integer fields, checked before a model is built."""
MAX_PARAMETERS = 400_000_000
"""The most parameters of a model (1.6 GB of float32): above the largest one the bounds above
allow (about 333 million: DeepFakes with 16 decoders at 256 px and latent_dim 4096)."""
MAX_CHECKPOINT_BYTES = 3 * 4 * MAX_PARAMETERS + (64 << 20)
"""The largest model file or training checkpoint read (its size is checked before a byte is
read): the weights of :data:`MAX_PARAMETERS` and Adam's two moments, plus 64 MiB."""

MAX_TRAINING_FACES = 200_000
"""The most synthetic faces ``sepviz train --n-faces`` renders: 10 times the full budget's
20,000."""
MAX_FACE_BYTES = 4 << 30
"""The most memory the training faces may take as float32 (``n × 3 × size² × 4`` bytes):
4 GiB, 4 times the full budget's (20,000 faces at 64 px)."""
MEMORY_PER_FACE_BYTE = 3
"""Training holds about 3 bytes per byte of faces (the faces, a copy per stream, rendering
buffers): the faces must fit 3 times in the memory available when the run starts."""
MAX_BATCH_SIZE = 4096
"""The largest ``--batch-size`` (images per step and stream)."""
MIN_BATCH = 2
"""The smallest batch, and the fewest training faces per decoder: BatchNorm normalises over
a batch, so a batch of one image has no statistics."""
MAX_SEED = 2**32 - 1
"""The largest seed (NumPy's seeds are 32-bit)."""

MAX_FIGURE_FACES = 64
"""The most faces in a ``sepviz swap`` / ``relight`` figure (``--n``): a row of 64 is already
too small to see."""
MAX_Y = 10.0
"""The largest ``|y|`` a FaderNet slider or relight grid takes: 10 times the trained range
[-1, 1]. The model never saw such values, and 1e39 does not even fit a float32."""
MAX_VALUES = 32
"""The most light values (columns) of ``sepviz relight --values``."""

MAX_SCALE = 16
"""The largest integer upscaling of a slider's picture."""
MAX_PICTURE_PIXELS = 16_000_000
"""The most pixels of one slider picture after upscaling (a 4000 × 4000 PNG)."""
MAX_FPS = 60.0
"""The fastest playback of a precomputed slider (frames per second)."""
MAX_FRAMES = 101
"""The most frames (y values) of a precomputed slider: each is a PNG inside the page."""
