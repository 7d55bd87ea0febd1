"""Port a recurrent classifier trained in snnTorch to lnp_neuro: train, export, deploy.

The recipe of the README's "Port your trained model", end to end on a small real data
set (sklearn's 8x8 digits, offline):

1. train ``Linear(64, H) -> RLeaky(H, all-to-all) -> Linear(H, 10) -> Leaky(10)`` in
   snnTorch with its default neurons (reset by subtraction, one step late), on images
   rate-coded as Bernoulli spikes over ``steps`` steps (cross-entropy on the output
   spike counts, Adam);
2. export it with ``snntorch.export_nir.export_to_nir`` and write the samples as
   ``data.npz`` (``inputs``, ``labels``, ``train``: the samples the model was trained on,
   which ``--refit-readout`` may use; the rest are scored);
3. deploy::

     lnp-deploy --network model.nir --data data.npz --reset-mechanism subtract \\
         --reset-delay --target loihi-sim --prune lnp --refit-readout --out run

   ``--reset-mechanism subtract --reset-delay`` says what the NIR file cannot: how
   snnTorch's neurons reset (lnp_neuro.nir.source_reset).

``python examples/port_snntorch_digits.py FOLDER`` writes ``model.nir``, ``data.npz`` and
``snntorch_accuracy.json`` (snnTorch's own accuracy on the scored samples, stepped in
float64 as lnp_neuro's float engines run) into FOLDER; ``--quick`` trains a smaller model
for a test. Needs torch, snntorch and scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

#: The smaller, faster-trained model of ``--quick`` (a test trains it in seconds).
QUICK = dict(hidden=48, steps=15, epochs=3, lr=5e-3)


def digits_spikes(steps: int, seed: int = 0, train_fraction: float = 0.78):
    """sklearn's digits as Bernoulli spikes ``[samples, steps, 64]`` (rate = pixel / 32),
    their labels and a random ``train`` mask."""
    from sklearn.datasets import load_digits
    images, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    spikes = rng.random((images.shape[0], steps, 64)) < images[:, None, :] / 32.0
    train = np.zeros(labels.size, bool)
    train[rng.permutation(labels.size)[:int(train_fraction * labels.size)]] = True
    return spikes, labels.astype(np.int64), train


def make_classifier(hidden: int):
    """The snnTorch model, with snnTorch's default reset (subtract, reset_delay=True)."""
    import snntorch as snn
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(64, hidden)
            # Per-neuron beta and threshold: snnTorch's exporter writes vectors from them.
            self.lif1 = snn.RLeaky(beta=torch.full((hidden,), 0.9), linear_features=hidden,
                                   all_to_all=True)
            self.fc2 = torch.nn.Linear(hidden, 10)
            self.lif2 = snn.Leaky(beta=torch.full((10,), 0.8), threshold=torch.ones(10))

        def forward(self, x):
            """One step from rest: what the exporter traces."""
            spk1, _ = self.lif1(self.fc1(x), *self.lif1.init_rleaky())
            return self.lif2(self.fc2(spk1), self.lif2.init_leaky())[0]

        def counts(self, x):
            """Output spike counts of a batch ``[B, T, 64]``, stepped one step at a time."""
            spk1, mem1 = (v.to(x.dtype) for v in self.lif1.init_rleaky())
            mem2 = self.lif2.init_leaky().to(x.dtype)
            total = 0
            for t in range(x.shape[1]):
                spk1, mem1 = self.lif1(self.fc1(x[:, t]), spk1, mem1)
                spk1 = spk1.to(x.dtype)
                spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                total = total + spk2
            return total

    return Classifier()


def train_classifier(spikes, labels, train, hidden: int, epochs: int, seed: int = 0,
                     lr: float = 2e-3):
    """The trained model (Adam, cross-entropy on the output spike counts, batches of 100)."""
    import torch
    torch.manual_seed(seed)
    net = make_classifier(hidden)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x = torch.tensor(spikes[train], dtype=torch.float32)
    y = torch.tensor(labels[train])
    for _ in range(epochs):
        order = torch.randperm(y.numel())
        for i in range(0, y.numel(), 100):
            batch = order[i:i + 100]
            loss = torch.nn.functional.cross_entropy(net.counts(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


def snntorch_accuracy(net, spikes, labels, scored) -> float:
    """snnTorch's own accuracy on the scored samples, stepped in float64 (ties: the
    lowest class, as lnp_neuro's argmax)."""
    import torch
    net = net.double()
    with torch.no_grad():
        counts = net.counts(torch.tensor(spikes[scored], dtype=torch.float64)).numpy()
    net.float()
    return float(np.mean(np.argmax(counts, axis=1) == labels[scored]))


def write_files(folder: Path, *, hidden: int = 48, steps: int = 20, epochs: int = 6,
                lr: float = 2e-3, seed: int = 0) -> dict:
    """Train, export and write ``model.nir``, ``data.npz`` and ``snntorch_accuracy.json``
    into ``folder``; returns the accuracy record."""
    import nir
    import torch
    from snntorch.export_nir import export_to_nir
    folder.mkdir(parents=True, exist_ok=True)
    spikes, labels, train = digits_spikes(steps, seed)
    net = train_classifier(spikes, labels, train, hidden, epochs, seed, lr)
    record = {"accuracy": snntorch_accuracy(net, spikes, labels, ~train),
              "n_test": int((~train).sum()), "hidden": hidden, "steps": steps,
              "epochs": epochs, "lr": lr, "seed": seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # snnTorch's exporter warns about tracing
        graph = export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])
    nir.write(folder / "model.nir", graph)
    np.savez(folder / "data.npz", inputs=spikes, labels=labels, train=train)
    (folder / "snntorch_accuracy.json").write_text(json.dumps(record, indent=1))
    return record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quick", action="store_true", help="a small model, for tests")
    args = parser.parse_args(argv)
    print(json.dumps(write_files(args.folder, **(QUICK if args.quick else {}))))


if __name__ == "__main__":
    main()
