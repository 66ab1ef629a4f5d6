"""saex.ExtractionConfig — the settings of an extraction.

Same names, order and defaults as the ExtractionConfig of the SAELens +
TransformerLens tool it replaces, plus saex's own settings (the options of
``saex extract``, see docs/cli.md). Values are checked when the config is
made, as the command line checks its options.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

from .errors import ArgumentError

MAX_LAYERS = 64  # SAEX_MAX_LAYERS
_HOOK_TEMPLATE = "blocks.{L}.hook_resid_post"
_HOOK_RE = re.compile(r"blocks\.(\d+)\.(\S+)\Z")
_DEVICE_RE = re.compile(r"(auto|cpu|cuda)(?::(\d+))?\Z")


@dataclass
class ExtractionConfig:
    """What to extract, from which model and SAE, and how.

    The first seven fields are those of the Python tool saex replaces (same
    names, defaults and meaning); the rest are saex's own.

    Attributes:
        model_name: a model folder (config.json, tokenizer.json, safetensors)
            or a Hugging Face id (``google/gemma-2-9b-it``).
        sae_release: a SAELens release name (``gemma-scope-9b-pt-res-canonical``).
        sae_id: the SAE within the release (``layer_20/width_16k/canonical``);
            ``{L}`` is replaced by the layer.
        target_layer: the block whose output (``blocks.L.hook_resid_post``) is
            encoded. With ``layers`` it is not used (it is set to the first
            of them).
        hook_name: only ``blocks.{target_layer}.hook_resid_post`` exists in
            saex; left out (None), it is derived from ``target_layer``. With
            several ``layers`` it is ``"blocks.{L}.hook_resid_post"``.
        top_k_features: features kept per position (1 .. SAE width).
        device: ``"auto"`` (default: CUDA when this build has it and a GPU is
            present, else CPU), ``"cuda"`` / ``"cuda:N"`` (GPU N; an error
            where there is none) or ``"cpu"``. The tool's default was
            ``"cuda"``; code that relied on it gets the GPU wherever the tool
            would have, and the CPU elsewhere instead of an error.
        precision: ``"default"`` (weights in their stored dtype, bf16 for
            Gemma-2; f32 activations between operations) or ``"f32"``
            (everything in f32: exact-comparison mode, twice the weight memory).
        threads: CPU threads; 0 = every core this process may use.
        batch_tokens: tokens per packed batch (a longer sequence gets a batch
            of its own).
        chat_template: ``"none"`` or ``"gemma"`` (the prompt becomes
            ``<start_of_turn>user\\n{prompt}<end_of_turn>\\n<start_of_turn>model\\n``).
        layers: several layers from one forward pass (each with its own SAE:
            put ``{L}`` in ``sae_id`` or ``sae_path``); sorted, duplicates dropped.
            None: ``target_layer`` alone (see :attr:`layer_list`).
        sae_path: instead of ``sae_release`` + ``sae_id``, a Gemma Scope
            ``params.npz``, a folder holding one, or a SAELens folder; ``{L}``
            is replaced by the layer.
        offline: never use the network (also when ``HF_HUB_OFFLINE=1``).
        revision: the Hub revision of the model (None: ``main``).

    Raises:
        saex.ArgumentError: a value out of its range, an unknown hook, device,
            precision or chat template (the message names the field). After
            changing fields by assignment, :meth:`validate` checks them again
            (the extractor does so when it starts); leave ``hook_name`` at
            None to have it follow ``target_layer``.
    """

    model_name: str = "google/gemma-2-9b-it"
    sae_release: str = "gemma-scope-9b-pt-res-canonical"
    sae_id: str = "layer_20/width_16k/canonical"
    target_layer: int = 20
    hook_name: Optional[str] = None
    top_k_features: int = 50
    device: str = "auto"
    precision: str = "default"
    threads: int = 0
    batch_tokens: int = 4096
    chat_template: Optional[str] = "none"
    layers: Optional[Sequence[int]] = None
    sae_path: Optional[Union[str, "os.PathLike[str]"]] = None
    offline: bool = False
    revision: Optional[str] = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Checks every field again (after fields were changed by assignment)
        and fills in the derived ones; raises :class:`saex.ArgumentError`."""
        for name in ("model_name", "sae_release", "sae_id"):
            _check_str(name, getattr(self, name))
        for name, lo, hi in (("target_layer", 0, 1000), ("top_k_features", 1, 1 << 20),
                             ("threads", 0, 4096), ("batch_tokens", 1, 1 << 30)):
            _check_int(name, getattr(self, name), lo, hi)
        if self.layers is not None:
            self.layers = _check_layers(self.layers)
            self.target_layer = self.layers[0]
        self.hook_name = _check_hook(self.hook_name, self.layer_list)
        _check_device(self.device)
        _check_choice("precision", self.precision, ("default", "f32"))
        if self.chat_template is None:
            self.chat_template = "none"
        _check_choice("chat_template", self.chat_template, ("none", "gemma"))
        if self.sae_path is not None:
            self.sae_path = os.fspath(self.sae_path)
            _check_str("sae_path", self.sae_path)
        if self.revision is not None:
            _check_str("revision", self.revision)
        if not isinstance(self.offline, bool):
            raise ArgumentError(f"offline: expected True or False, got {self.offline!r}")

    @property
    def layer_list(self) -> List[int]:
        """The layers captured: ``layers``, else ``[target_layer]``."""
        return list(self.layers) if self.layers is not None else [self.target_layer]

    @property
    def device_kind(self) -> str:
        """``"auto"``, ``"cpu"`` or ``"cuda"`` (``device`` without the ``:N``)."""
        return _check_device(self.device)[0]

    @property
    def cuda_device(self) -> int:
        """The GPU ordinal of ``device="cuda:N"`` (0 otherwise)."""
        return _check_device(self.device)[1]


def _check_str(name: str, v: object) -> None:
    if not isinstance(v, str) or not v:
        raise ArgumentError(f"{name}: expected a non-empty str, got {v!r}")
    if "\0" in v:
        raise ArgumentError(f"{name}: {v!r} contains a NUL character")


def _check_int(name: str, v: object, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ArgumentError(f"{name}: expected an int, got {v!r}")
    if not lo <= v <= hi:
        raise ArgumentError(f"{name} {v}: must be in {lo}..{hi}")


def _check_choice(name: str, v: object, choices: Sequence[str]) -> None:
    if v not in choices:
        raise ArgumentError(f"{name} {v!r}: expected one of {', '.join(map(repr, choices))}")


def _check_layers(layers: Sequence[int]) -> List[int]:
    if isinstance(layers, (str, bytes)):
        raise ArgumentError(f"layers: expected a list of int, got {layers!r}")
    try:
        items = list(layers)
    except TypeError:
        raise ArgumentError(f"layers: expected a list of int, got {layers!r}") from None
    if not items:
        raise ArgumentError("layers: empty (leave it out to use target_layer)")
    for v in items:
        _check_int("layers", v, 0, 1000)
    out = sorted(set(items))
    if len(out) > MAX_LAYERS:
        raise ArgumentError(f"layers: at most {MAX_LAYERS} layers, got {len(out)}")
    return out


def _check_hook(hook: Optional[str], layers: List[int]) -> str:
    """The hook name for these layers; only resid_post of the target layer exists."""
    single = f"blocks.{layers[0]}.hook_resid_post" if len(layers) == 1 else None
    if hook is None or hook == _HOOK_TEMPLATE:
        return single or _HOOK_TEMPLATE
    if single is not None and hook == single:
        return hook
    m = _HOOK_RE.match(hook) if isinstance(hook, str) else None
    if m and m.group(2) == "hook_resid_post":
        if single is None:
            raise ArgumentError(f"hook_name {hook}: with several layers {layers}, leave hook_name out "
                                f"(or use {_HOOK_TEMPLATE!r})")
        raise ArgumentError(f"hook_name {hook} is for layer {m.group(1)}, but the target layer is {layers[0]} "
                            "(hook_name=None derives it from target_layer)")
    raise ArgumentError(f"hook_name {hook!r} is not supported: saex captures only blocks.L.hook_resid_post "
                        "(the residual stream after block L, what Gemma Scope res SAEs read)")


def _check_device(device: object) -> "tuple[str, int]":
    m = _DEVICE_RE.match(device) if isinstance(device, str) else None
    if not m or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ArgumentError(f"device {device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return m.group(1), int(m.group(2) or 0)
