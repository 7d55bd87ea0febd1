"""Image classification data (design section 4): CIFAR-10/100 from disk, digits built in.

CIFAR files and pickles
-----------------------
The "python version" of CIFAR-10/100 (Krizhevsky 2009) stores every batch as a Python 2
pickle (protocol 2) of a dict: ``data`` (a uint8 numpy array ``[n, 3072]``, each row the
1024 red, then green, then blue values of a 32 x 32 image in row-major order),
``labels`` (CIFAR-10) or ``fine_labels`` / ``coarse_labels`` (CIFAR-100), ``filenames``
and ``batch_label``; ``batches.meta`` / ``meta`` hold the class names.

Unpickling runs code named by the file, so the project never calls ``pickle.load`` on a
file. :func:`safe_unpickle` is a restricted unpickler (the "restricting globals" recipe of
the Python ``pickle`` documentation): the only globals a stream may name are

* ``numpy.core.multiarray._reconstruct`` (also ``numpy._core...``), accepted only for a
  plain ``numpy.ndarray`` and numpy's empty ``(0,)`` placeholder -- how numpy pickles an
  array with protocols 2-4 (the data then come from the stream, so memory stays bounded
  by the file);
* ``numpy.ndarray`` (only as the argument of the above: it resolves to a token that cannot
  be called, so a stream cannot allocate an array the file does not hold) and
  ``numpy.dtype``, refusing sub-array, structured and wide dtypes and dtypes that
  hold Python objects;
* ``_codecs.encode`` for ``(str, "latin1")`` only -- how Python 3 writes ``bytes`` with
  protocol 2.

Every other global (``os.system``, ``builtins.eval``, any class) raises
:class:`UnsafePickleError` before anything is called, and the loaded value must consist
only of dicts, lists, tuples, str, bytes, numbers, None and non-object numpy arrays.
Python 2 strings are decoded as latin-1 (numpy's documented way to read Python 2 array
pickles), so keys come back as ``str``. Protocol-5 out-of-band buffers are not accepted.

A small real image set ships inside scikit-learn: :func:`load_digits_dataset` (1797
handwritten digits, 8 x 8, 16 grey levels; UCI "Optical Recognition of Handwritten
Digits"), the default image task for tests.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = [
    "ImageDataset",
    "UnsafePickleError",
    "safe_unpickle",
    "load_cifar_batch",
    "load_cifar10",
    "load_cifar100",
    "load_digits_dataset",
    "CIFAR10_CLASSES",
]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


# --------------------------------------------------------------------- container
@dataclass(eq=False)
class ImageDataset:
    """Labelled images split into train and test.

    ``train_images`` / ``test_images`` are ``[n, height, width, channels]`` arrays of
    intensities in ``[0, max_intensity]`` (uint8 for CIFAR, 0..16 for digits);
    ``*_labels`` are int64 ``[n]`` in ``[0, n_classes)``.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple
    max_intensity: float
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        self.class_names = tuple(str(c) for c in self.class_names)
        n_classes = len(self.class_names)
        if n_classes < 2:
            raise ValueError(f"class_names must name at least two classes, got {self.class_names}")
        self.max_intensity = float(self.max_intensity)
        if not (np.isfinite(self.max_intensity) and self.max_intensity > 0):
            raise ValueError(f"max_intensity must be positive, got {self.max_intensity}")
        shape = None
        for split in ("train", "test"):
            images = np.asarray(getattr(self, f"{split}_images"))
            labels = np.asarray(getattr(self, f"{split}_labels"))
            if images.ndim != 4:
                raise ValueError(f"{split}_images must be [n, height, width, channels], got "
                                 f"shape {images.shape}")
            if shape is not None and images.shape[1:] != shape:
                raise ValueError(f"test images have shape {images.shape[1:]}, train images "
                                 f"{shape}")
            shape = images.shape[1:]
            if labels.shape != (len(images),):
                raise ValueError(f"{split}_labels must hold one label per image "
                                 f"({len(images)}), got shape {labels.shape}")
            if not np.issubdtype(labels.dtype, np.integer):
                raise ValueError(f"{split}_labels must be integers, got {labels.dtype}")
            if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
                raise ValueError(f"{split}_labels must lie in [0, {n_classes}), got "
                                 f"{labels.min()}..{labels.max()}")
            if images.size and (images.min() < 0 or images.max() > self.max_intensity):
                raise ValueError(f"{split}_images must lie in [0, max_intensity="
                                 f"{self.max_intensity:g}]")
            setattr(self, f"{split}_images", images)
            setattr(self, f"{split}_labels", labels.astype(np.int64))
        if not isinstance(self.metadata, dict):
            raise ValueError(f"metadata must be a dict, got {type(self.metadata).__name__}")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])

    @property
    def n_pixels(self) -> int:
        """Values per image (height * width * channels): input channels of a rate code."""
        return int(np.prod(self.image_shape))

    def intensities(self, split: str = "train") -> np.ndarray:
        """Images of ``split`` flattened to ``[n, n_pixels]`` and scaled to [0, 1]."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        images = getattr(self, f"{split}_images")
        return images.reshape(len(images), -1).astype(np.float64) / self.max_intensity

    def subset(self, n_train: int | None = None, n_test: int | None = None,
               seed=0) -> "ImageDataset":
        """A smaller dataset of ``n_train`` / ``n_test`` images drawn without replacement
        with ``seed`` (kept in their original order); None keeps a split whole."""
        rng = np.random.default_rng(seed)
        parts = {}
        for split, count in (("train", n_train), ("test", n_test)):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if count is None:
                parts[split] = (images, labels)
                continue
            if isinstance(count, bool) or not isinstance(count, (int, np.integer)) \
                    or not 1 <= count <= len(images):
                raise ValueError(f"n_{split} must be an integer in [1, {len(images)}], got "
                                 f"{count!r}")
            idx = np.sort(rng.choice(len(images), size=int(count), replace=False))
            parts[split] = (images[idx], labels[idx])
        meta = dict(self.metadata, subset={"n_train": n_train, "n_test": n_test,
                                           "seed": seed if isinstance(seed, (int, type(None)))
                                           else str(seed)})
        return ImageDataset(self.name, parts["train"][0], parts["train"][1], parts["test"][0],
                            parts["test"][1], self.class_names, self.max_intensity, meta)

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name!r}, train={len(self.train_images)}, "
                f"test={len(self.test_images)}, image_shape={self.image_shape}, "
                f"classes={self.n_classes})")


# ------------------------------------------------------------- restricted unpickling
class UnsafePickleError(ValueError):
    """A pickle named something the restricted unpickler does not allow."""


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class _NdarrayName:
    """What the global ``numpy.ndarray`` resolves to in a restricted stream.

    A stream needs the name only as the first argument of ``_reconstruct``. Handing it
    the real class would let it *call* ``numpy.ndarray((2**30,), "u1")`` and allocate a
    gigabyte from a 64-byte file; calling this token is refused.
    """

    def __repr__(self) -> str:
        return "numpy.ndarray (name only)"

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError("a direct call of numpy.ndarray(...) is refused: it would "
                                "allocate memory the file does not hold")


_NDARRAY_NAME = _NdarrayName()


def _safe_reconstruct(subtype, shape, typecode):
    if subtype is not _NDARRAY_NAME:
        raise UnsafePickleError(f"array reconstruction of {subtype!r} refused: only plain "
                                f"numpy.ndarray is allowed")
    # numpy always pickles an empty (0,) placeholder and fills it from the stream's bytes
    # (whose length numpy checks); any other shape would allocate memory the file does
    # not contain.
    if tuple(shape) != (0,):
        raise UnsafePickleError(f"array placeholder of shape {shape!r} refused")
    return _numpy_reconstruct()(np.ndarray, (0,), typecode)


def _safe_dtype(spec, align=False, copy=False):
    if isinstance(spec, bytes):
        spec = spec.decode("latin-1")
    if not isinstance(spec, str):
        raise UnsafePickleError(f"numpy dtype from {type(spec).__name__} refused")
    dtype = np.dtype(spec, align=bool(align), copy=bool(copy))
    if dtype.hasobject:
        raise UnsafePickleError(f"numpy dtype {dtype} holds Python objects; refused")
    if dtype.subdtype is not None or dtype.fields is not None or dtype.itemsize > 16:
        # Plain scalars only: a sub-array dtype such as "(1073741824,)u1" is one "element"
        # of a gigabyte.
        raise UnsafePickleError(f"numpy dtype {dtype} is not a plain scalar type; refused")
    return dtype


def _safe_encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode({type(text).__name__}, {encoding!r}) refused")
    return text.encode("latin-1")


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy", "ndarray"): _NDARRAY_NAME,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _safe_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refused to load global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("persistent references are refused")


_PLAIN = (str, bytes, int, float, bool, type(None))


def _check_plain(obj: Any, depth: int = 0, seen: set[int] | None = None) -> None:
    """Refuse anything but plain data, in time linear in the size of the stream.

    Every container is visited once: the pickle memo lets a small stream reference one
    list from many places (or from itself), and a naive walk would revisit it once per
    path -- exponentially often. A container met a second time is refused: CIFAR files
    share none, and a cycle is not plain data.
    """
    seen = set() if seen is None else seen
    if depth > 64:
        raise UnsafePickleError("nesting deeper than 64 levels")
    if isinstance(obj, _PLAIN):
        return
    if type(obj) is np.ndarray:
        if obj.dtype.hasobject:
            raise UnsafePickleError(f"array of dtype {obj.dtype} holds Python objects")
        return
    if not isinstance(obj, (dict, list, tuple)):
        raise UnsafePickleError(f"value of type {type(obj).__name__} is not plain data")
    if len(obj) == 0:
        return  # empty containers hold nothing (and CPython shares the empty tuple)
    if id(obj) in seen:
        raise UnsafePickleError(f"a {type(obj).__name__} is referenced more than once "
                                f"(shared or self-referencing containers are refused)")
    seen.add(id(obj))
    items = (v for kv in obj.items() for v in kv) if isinstance(obj, dict) else obj
    for value in items:
        _check_plain(value, depth + 1, seen)


def safe_unpickle(data: bytes | str | Path, *, source: str | None = None) -> Any:
    """Load plain data (see the module docstring) from pickle bytes or a file path.

    Raises :class:`UnsafePickleError` (a ``ValueError``) naming ``source`` / the file when
    the stream names a refused global or yields a non-plain value, and ``ValueError``
    when it is not a readable pickle.
    """
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        source = source or str(path)
        data = path.read_bytes()
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError(f"data must be bytes or a file path, got {type(data).__name__}")
    source = source or "pickle data"
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{source}: unsafe pickle: {exc}") from None
    except Exception as exc:  # truncated or malformed stream
        raise ValueError(f"{source}: not a readable pickle ({type(exc).__name__}: {exc})"
                         ) from None
    try:
        _check_plain(obj)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{source}: unsafe pickle: {exc}") from None
    return obj


# ---------------------------------------------------------------------- CIFAR files
def _str_keys(obj: Any, path: Path) -> dict:
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: a CIFAR file holds a dict, this one holds "
                         f"{type(obj).__name__}")
    return {(k.decode("latin-1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def load_cifar_batch(path, label_key: str = "labels", n_classes: int = 10
                     ) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR python batch file -> (images uint8 ``[n, 32, 32, 3]``, labels int64 ``[n]``).

    ``label_key`` is ``labels`` (CIFAR-10), ``fine_labels`` or ``coarse_labels``
    (CIFAR-100); ``n_classes`` bounds the labels. Read with :func:`safe_unpickle`.
    """
    path = Path(path)
    batch = _str_keys(safe_unpickle(path), path)
    for key in ("data", label_key):
        if key not in batch:
            raise ValueError(f"{path}: CIFAR batch lacks the {key!r} entry (has "
                             f"{sorted(batch)})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise ValueError(f"{path}: 'data' must be a uint8 array [n, 3072], got "
                         f"{type(data).__name__} {getattr(data, 'dtype', '')} {shape}")
    labels = batch[label_key]
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if not isinstance(labels, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in labels):
        raise ValueError(f"{path}: {label_key!r} must be a list of integers")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} {label_key!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{path}: {label_key!r} must lie in [0, {n_classes}), got "
                         f"{labels.min()}..{labels.max()}")
    images = data.reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _cifar_folder(root, folder: str, required: Sequence[str]) -> Path:
    root = Path(root)
    base = root / folder if (root / folder).is_dir() else root
    missing = [name for name in required if not (base / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{base}: missing CIFAR file(s) {', '.join(missing)}; pass the folder "
            f"{folder!r} from the CIFAR python archive (or its parent)")
    return base


def _class_names(base: Path, meta_file: str, key: str, n: int, default) -> tuple[str, ...]:
    meta_path = base / meta_file
    if not meta_path.is_file():
        return tuple(default)
    meta = _str_keys(safe_unpickle(meta_path), meta_path)
    names = meta.get(key)
    if not isinstance(names, (list, tuple)) or len(names) != n:
        raise ValueError(f"{meta_path}: {key!r} must list {n} class names")
    return tuple(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in names)


def load_cifar10(root, batches: Sequence[int] = (1, 2, 3, 4, 5)) -> ImageDataset:
    """CIFAR-10 from the python-version files (``cifar-10-batches-py``) under ``root``.

    ``root`` is that folder or its parent; ``batches`` chooses which of
    ``data_batch_1..5`` form the training set (all five: 50000 images); the test set is
    ``test_batch`` (10000). Class names come from ``batches.meta`` when present.
    """
    batches = tuple(batches)
    if not batches or any(b not in (1, 2, 3, 4, 5) for b in batches) or \
            len(set(batches)) != len(batches):
        raise ValueError(f"batches must be distinct numbers from 1..5, got {batches}")
    files = [f"data_batch_{b}" for b in batches]
    base = _cifar_folder(root, "cifar-10-batches-py", files + ["test_batch"])
    parts = [load_cifar_batch(base / f) for f in files]
    test_images, test_labels = load_cifar_batch(base / "test_batch")
    names = _class_names(base, "batches.meta", "label_names", 10, CIFAR10_CLASSES)
    return ImageDataset(
        name="cifar10", train_images=np.concatenate([p[0] for p in parts]),
        train_labels=np.concatenate([p[1] for p in parts]), test_images=test_images,
        test_labels=test_labels, class_names=names, max_intensity=255.0,
        metadata={"source": str(base), "train_batches": list(batches)})


def load_cifar100(root, label: str = "fine") -> ImageDataset:
    """CIFAR-100 from the python-version files (``cifar-100-python``: ``train``, ``test``,
    optional ``meta``) under ``root`` (that folder or its parent); ``label`` is
    ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses)."""
    if label not in ("fine", "coarse"):
        raise ValueError(f"label must be 'fine' or 'coarse', got {label!r}")
    n_classes = 100 if label == "fine" else 20
    base = _cifar_folder(root, "cifar-100-python", ["train", "test"])
    key = f"{label}_labels"
    train_images, train_labels = load_cifar_batch(base / "train", key, n_classes)
    test_images, test_labels = load_cifar_batch(base / "test", key, n_classes)
    names = _class_names(base, "meta", f"{label}_label_names", n_classes,
                         [str(i) for i in range(n_classes)])
    return ImageDataset(
        name=f"cifar100-{label}", train_images=train_images, train_labels=train_labels,
        test_images=test_images, test_labels=test_labels, class_names=names,
        max_intensity=255.0, metadata={"source": str(base), "label": label})


# ------------------------------------------------------------------- built-in digits
def load_digits_dataset(test_fraction: float = 0.25, seed=0) -> ImageDataset:
    """scikit-learn's handwritten digits (1797 images, 8 x 8 x 1, intensities 0..16,
    10 classes; shipped inside scikit-learn, no download), split with a seeded
    stratified shuffle: ``test_fraction`` of every class goes to the test set."""
    try:
        test_fraction = float(test_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"test_fraction must be a number, got {test_fraction!r}") from None
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        test_idx.append(members[:int(round(test_fraction * len(members)))])
    is_test = np.zeros(len(labels), bool)
    is_test[np.concatenate(test_idx)] = True
    seed_note = seed if isinstance(seed, (int, type(None))) else str(seed)
    return ImageDataset(
        name="digits", train_images=images[~is_test], train_labels=labels[~is_test],
        test_images=images[is_test], test_labels=labels[is_test],
        class_names=tuple(str(c) for c in range(10)), max_intensity=16.0,
        metadata={"source": "sklearn.datasets.load_digits (UCI optical recognition of "
                            "handwritten digits)", "seed": seed_note,
                  "test_fraction": test_fraction})
