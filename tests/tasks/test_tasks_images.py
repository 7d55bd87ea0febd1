"""CIFAR loaders on files written here in the real format; restricted unpickler; digits."""

import io
import os
import pickle
import struct

import numpy as np
import pytest

from lnp_neuro.tasks import (CIFAR10_CLASSES, ImageDataset, UnsafePickleError, load_cifar10,
                             load_cifar100, load_cifar_batch, load_digits_dataset,
                             safe_unpickle)


class _Python2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 ``str`` opcodes (SHORT_BINSTRING / BINSTRING), the way
    cPickle wrote the CIFAR python files, so the stream matches the real ones."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def _py2_dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _batch(rng, n, label_keys, n_classes):
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"fake batch", b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    for key, k in zip(label_keys, n_classes):
        batch[key] = [int(v) for v in rng.integers(0, k, size=n)]
    return batch


@pytest.fixture()
def cifar10_dir(tmp_path):
    rng = np.random.default_rng(0)
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = _batch(rng, 4, [b"labels"], [10])
        dumps = _py2_dumps if name != "data_batch_2" else (lambda o: pickle.dumps(o, 2))
        (base / name).write_bytes(dumps(batches[name]))
    (base / "batches.meta").write_bytes(_py2_dumps(
        {b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_vis": 3072}))
    return tmp_path, batches


def test_python2_stream_looks_like_the_real_files(cifar10_dir):
    root, _ = cifar10_dir
    head = (root / "cifar-10-batches-py" / "data_batch_1").read_bytes()[:80]
    assert head.startswith(b"\x80\x02}q\x00(")        # protocol 2, a dict
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in (root / "cifar-10-batches-py" /
                                                         "data_batch_1").read_bytes()


def test_cifar10_loader_layout(cifar10_dir):
    root, batches = cifar10_dir
    ds = load_cifar10(root)
    assert isinstance(ds, ImageDataset)
    assert ds.train_images.shape == (20, 32, 32, 3) and ds.train_images.dtype == np.uint8
    assert ds.test_images.shape == (4, 32, 32, 3)
    assert ds.class_names == CIFAR10_CLASSES and ds.max_intensity == 255
    # Row layout: 1024 red, 1024 green, 1024 blue, each 32 x 32 row-major.
    raw = batches["data_batch_1"][b"data"]
    for i, r, c, ch in [(0, 0, 0, 0), (1, 5, 7, 1), (3, 31, 31, 2), (2, 10, 0, 2)]:
        assert ds.train_images[i, r, c, ch] == raw[i, ch * 1024 + r * 32 + c]
    expected = np.concatenate([batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    np.testing.assert_array_equal(ds.train_labels, expected)
    # The Python 3 protocol-2 batch (bytes written through _codecs.encode) reads the same.
    np.testing.assert_array_equal(ds.train_images[4:8].reshape(4, 32, 32, 3).transpose(0, 3, 1, 2)
                                  .reshape(4, 3072), batches["data_batch_2"][b"data"])
    sub = load_cifar10(root / "cifar-10-batches-py", batches=(3,))
    assert len(sub.train_images) == 4
    flat = ds.intensities("test")
    assert flat.shape == (4, 3072) and 0 <= flat.min() and flat.max() <= 1


def test_cifar100_loader(tmp_path):
    rng = np.random.default_rng(1)
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    for name, n in (("train", 6), ("test", 3)):
        (base / name).write_bytes(_py2_dumps(
            _batch(rng, n, [b"fine_labels", b"coarse_labels"], [100, 20])))
    (base / "meta").write_bytes(_py2_dumps({
        b"fine_label_names": [f"f{i}".encode() for i in range(100)],
        b"coarse_label_names": [f"c{i}".encode() for i in range(20)]}))
    fine = load_cifar100(tmp_path)
    coarse = load_cifar100(base, label="coarse")
    assert fine.n_classes == 100 and coarse.n_classes == 20
    assert fine.class_names[3] == "f3" and coarse.class_names[19] == "c19"
    np.testing.assert_array_equal(fine.train_images, coarse.train_images)
    assert fine.train_labels.max() < 100 and coarse.train_labels.max() < 20
    with pytest.raises(ValueError, match="label"):
        load_cifar100(tmp_path, label="medium")


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickles_are_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(pickle.dumps({b"data": _Evil(marker), b"labels": []}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"refused to load global (posix|nt)\.system") \
            as err:
        load_cifar_batch(evil)
    assert str(evil) in str(err.value)
    assert not marker.exists()
    for payload in (
        pickle.dumps(eval, protocol=2),                                    # builtins.eval
        pickle.dumps(np.array([1, "a"], dtype=object), protocol=2),        # object array
        pickle.dumps(np.ma.array([1, 2]), protocol=2),                     # ndarray subclass
        pickle.dumps(__import__("collections").OrderedDict(a=1), protocol=2),
        pickle.dumps({1, 2}, protocol=4),                                   # not plain data
    ):
        with pytest.raises(UnsafePickleError):
            safe_unpickle(payload)
    with pytest.raises(ValueError, match="not a readable pickle"):
        safe_unpickle(pickle.dumps({b"a": 1}, protocol=2)[:-3])


def test_safe_unpickle_round_trips_plain_data():
    value = {"a": [1, 2.5, None, True], b"k": (b"x", "y"),
             "arr": np.arange(12, dtype=np.float32).reshape(3, 4)}
    for protocol in (2, 3, 4):
        out = safe_unpickle(pickle.dumps(value, protocol=protocol))
        np.testing.assert_array_equal(out["arr"], value["arr"])
        assert out["arr"].dtype == np.float32 and out["a"] == value["a"]


def test_cifar_errors(tmp_path, cifar10_dir):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar10(tmp_path / "nothing")
    root, _ = cifar10_dir
    base = root / "cifar-10-batches-py"
    (base / "data_batch_1").write_bytes(_py2_dumps({b"data": np.zeros((2, 100), np.uint8),
                                                   b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"uint8 array \[n, 3072\]"):
        load_cifar10(root)
    (base / "data_batch_1").write_bytes(_py2_dumps({b"data": np.zeros((2, 3072), np.uint8),
                                                   b"labels": [0]}))
    with pytest.raises(ValueError, match="2 images but 1"):
        load_cifar10(root)
    (base / "data_batch_1").write_bytes(_py2_dumps({b"data": np.zeros((1, 3072), np.uint8),
                                                   b"labels": [10]}))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        load_cifar10(root)
    (base / "data_batch_1").write_bytes(_py2_dumps([1, 2]))
    with pytest.raises(ValueError, match="holds a dict"):
        load_cifar10(root)
    with pytest.raises(ValueError, match="batches"):
        load_cifar10(root, batches=(0, 1))


def test_digits_dataset():
    a = load_digits_dataset(seed=0)
    b = load_digits_dataset(seed=0)
    c = load_digits_dataset(seed=1)
    assert len(a.train_images) + len(a.test_images) == 1797
    assert a.image_shape == (8, 8, 1) and a.n_pixels == 64 and a.max_intensity == 16
    assert a.train_images.max() == 16 and a.train_images.min() == 0
    np.testing.assert_array_equal(a.test_labels, b.test_labels)
    np.testing.assert_array_equal(a.test_images, b.test_images)
    assert not np.array_equal(a.test_images, c.test_images)
    # Stratified: every class keeps about a quarter of its images for testing.
    counts = np.bincount(a.test_labels, minlength=10)
    totals = counts + np.bincount(a.train_labels, minlength=10)
    np.testing.assert_array_equal(counts, np.round(0.25 * totals).astype(int))
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_dataset(test_fraction=1.0)


def test_image_dataset_validation():
    imgs = np.zeros((2, 4, 4, 1), np.uint8)
    with pytest.raises(ValueError, match="train_labels"):
        ImageDataset("x", imgs, np.array([0, 5]), imgs, np.array([0, 1]), ("a", "b"), 255)
    with pytest.raises(ValueError, match="height, width, channels"):
        ImageDataset("x", imgs[..., 0], np.array([0, 1]), imgs, np.array([0, 1]), ("a", "b"), 255)
    with pytest.raises(ValueError, match="max_intensity"):
        ImageDataset("x", imgs + 20, np.array([0, 1]), imgs, np.array([0, 1]), ("a", "b"), 16)


def test_array_placeholder_must_be_empty():
    """A stream asking numpy for a huge uninitialised array is refused before allocating."""
    good = pickle.dumps(np.arange(3, dtype=np.uint8), protocol=2)
    assert b"K\x00\x85" in good                      # the (0,) placeholder shape
    bomb = good.replace(b"K\x00\x85", b"J\x00\x00\x00\x40\x85", 1)   # shape (2**30,)
    with pytest.raises(UnsafePickleError, match="placeholder"):
        safe_unpickle(bomb)


def test_subset_is_seeded_and_keeps_labels_aligned():
    d = load_digits_dataset()
    a = d.subset(100, 50, seed=3)
    b = d.subset(100, 50, seed=3)
    assert len(a.train_images) == 100 and len(a.test_images) == 50
    np.testing.assert_array_equal(a.train_images, b.train_images)
    # Every chosen (image, label) pair exists in the full training set.
    full = {(img.tobytes(), int(lab)) for img, lab in zip(d.train_images, d.train_labels)}
    assert all((img.tobytes(), int(lab)) in full
               for img, lab in zip(a.train_images, a.train_labels))
    assert len(d.subset(n_test=10).train_images) == len(d.train_images)
    with pytest.raises(ValueError, match="n_train"):
        d.subset(n_train=10_000)
