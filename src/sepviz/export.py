"""A trained model's encoder and decoders as ONNX files, to run outside Python.

:func:`to_onnx` writes a :class:`~sepviz.models.FaderNet`'s encoder ``x -> z`` and decoder
``(z, y) -> x``, or a shared-encoder model's (:class:`~sepviz.models.MultiDecoder`,
:class:`~sepviz.models.DeepFakes`) encoder and each of its decoders ``z -> x``. Every file has
a dynamic batch axis (``"batch"``) and the opset 17; onnxruntime (Python) and onnxruntime-web
(the live sliders of :mod:`sepviz.widgets`) run them. Needs the ``onnx`` package.

The inputs and outputs are named as in the models: ``x`` (N, 3, S, S) faces in [0, 1], ``z``
(N, latent_dim) latents, ``y`` (N, attribute_dim) FaderNet's attribute.
"""

from __future__ import annotations

import copy
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

OPSET = 17


def _export(
    module: nn.Module, args: tuple[torch.Tensor, ...], inputs: list[str], path: Path
) -> Path:
    # A CPU copy in eval mode: BatchNorm uses its running statistics, the model keeps its mode.
    module = copy.deepcopy(module).cpu().eval()
    axes = {name: {0: "batch"} for name in [*inputs, "out"]}
    # dynamo=False (the TorchScript exporter, as the issue measured) warns that it is legacy;
    # the warning would land in the chapters' outputs.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=inputs,
            output_names=["out"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    return path


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def to_onnx(model: nn.Module, folder: str | Path) -> dict[str, Path]:
    """Write the networks of ``model`` (its :meth:`~sepviz.models.SepvizModel.export_parts`)
    as ONNX files into ``folder``.

    Args:
        model: a :class:`~sepviz.models.FaderNet` or a shared-encoder model
            (:class:`~sepviz.models.MultiDecoder`, :class:`~sepviz.models.DeepFakes`).
        folder: created if missing; existing files of the same names are replaced.

    Returns:
        Part name -> its file ``folder/<name>.onnx``. A FaderNet has ``"encoder"`` (input
        ``x`` -> output ``out`` = z) and ``"decoder"`` (inputs ``z``, ``y`` -> ``out`` =
        faces); a shared-encoder model ``"encoder"`` and ``"decoder_<name>"`` for each decoder
        (input ``z``), in the model's order.

    Raises:
        ValueError: a model with nothing to export, or two parts whose names map to one file
            (names are written with ``_`` for any character but letters, digits, ``_.-``:
            decoders ``"a b"`` and ``"a_b"`` would both be ``decoder_a_b.onnx``).
    """
    export_parts = getattr(model, "export_parts", None)
    try:
        parts = export_parts() if callable(export_parts) else None
    except NotImplementedError:
        parts = None
    if not parts:
        raise ValueError(
            "to_onnx exports a FaderNet or a shared-encoder model (MultiDecoder, DeepFakes), "
            f"got {type(model).__name__}"
        )
    files: dict[str, str] = {}
    for name in parts:
        file = f"{_file_name(name)}.onnx".lower()  # one file on a case-insensitive disk too
        if file in files:
            raise ValueError(
                f"the parts {files[file]!r} and {name!r} would both be written to {file}: "
                "rename one of them (decoder names that differ in more than spaces, "
                "punctuation or case)"
            )
        files[file] = name
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError as error:
        raise ImportError("to_onnx needs the onnx package: pip install onnx") from error
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        name: _export(module, args, inputs, folder / f"{_file_name(name)}.onnx")
        for name, (module, args, inputs) in parts.items()
    }


def onnx_bytes(model: nn.Module) -> dict[str, bytes]:
    """:func:`to_onnx` into a temporary folder, read back: the same keys, the files' bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        return {key: path.read_bytes() for key, path in to_onnx(model, tmp).items()}


def run_onnx(path_or_bytes: str | Path | bytes, **inputs: Any) -> Any:
    """Run an exported file with onnxruntime (Python): float32 numpy arrays in, ``out`` out."""
    import numpy as np
    import onnxruntime as ort

    source = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    feed = {k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()}
    return session.run(["out"], feed)[0]
