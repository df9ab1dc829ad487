"""scratchgen's RBM side by side with scikit-learn's BernoulliRBM on digits-binary.

Both train with the same number of hidden units, learning rate, batch size and epochs, on
the same float32 training images in the same order (scikit-learn's own: the batches are
contiguous slices of the training set, every epoch in the same order), and both are
scored by the same yardstick: our exact log-likelihood (hidden states enumerated), here
applied to scikit-learn's weights too (components_ is W^T (H, V), intercept_visible_ is b,
intercept_hidden_ is c). scikit-learn's own score_samples is a pseudo-likelihood, not a
likelihood, so it is not used.

scikit-learn's BernoulliRBM is PCD with one Gibbs step, plain SGD on the batch-mean
gradient, weights N(0, 0.01^2), biases 0. The matching scratchgen run ("ours, same
recipe") is --pcd --k 1 --momentum 0 --no-lr-decay with the same learning rate; it differs
only in its initial visible biases (the data's log-odds, as Hinton's guide advises) and in
its random numbers. "ours, defaults" adds momentum 0.5 and a linear learning-rate decay;
with --short-epochs E it is also trained for only E epochs, to compare at equal time.

Training time: scikit-learn's fit() against our train_step() loop over the same batches
(data loading and evaluation excluded for both), each repeated --repeats times,
interleaved so that a busy machine slows both alike; the median is reported. BLAS runs
single-threaded for both by default (--threads).

    python bench/rbm_vs_sklearn.py                      # hidden 16, lr 0.05, batch 20, 100 epochs
    python bench/rbm_vs_sklearn.py --seeds 0 1 2 --short-epochs 12
"""
import argparse
import statistics
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM
from sklearn.utils import gen_even_slices
from threadpoolctl import threadpool_limits

from scratchgen.models.rbm import free_energy, log_partition_exact
from scratchgen.training import make_config
from scratchgen.training.loop import build


def exact_logliks(W, b, c, train, test):
    """(train, test) log-likelihood per image in nats, log Z by hidden-state enumeration."""
    W, b, c = (np.asarray(a, dtype=np.float64) for a in (W, b, c))
    log_z = log_partition_exact(W, b, c)
    return tuple(float(-free_energy(x.astype(np.float64), W, b, c).mean() - log_z)
                 for x in (train, test))


def even_batches(n_samples, batch_size):
    """scikit-learn's batches: ceil(N / batch_size) contiguous slices, the last one shorter."""
    n_batches = int(np.ceil(n_samples / batch_size))
    return list(gen_even_slices(n_batches * batch_size, n_batches, n_samples=n_samples))


def train_sklearn(args, seed, train):
    rbm = BernoulliRBM(n_components=args.hidden, learning_rate=args.lr,
                       batch_size=args.batch_size, n_iter=args.epochs, random_state=seed)
    start = time.perf_counter()
    rbm.fit(train)
    seconds = time.perf_counter() - start
    return (rbm.components_.T, rbm.intercept_visible_, rbm.intercept_hidden_), seconds


def train_ours(args, seed, train, recipe, epochs):
    batches = even_batches(len(train), args.batch_size)
    settings = dict(hidden=args.hidden, lr=args.lr, batch_size=args.batch_size, pcd=True, k=1,
                    steps=epochs * len(batches), seed=seed, out="/nonexistent/unused")
    if recipe == "same":
        settings.update(momentum=0.0, lr_decay=False, weight_decay=0.0)
    _, model = build(make_config("rbm", **settings))
    images = train.reshape(len(train), 1, 8, 8)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in batches:
            model.train_step(images[batch])
    seconds = time.perf_counter() - start
    return model.rbm.arrays(np.float64), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed repetitions of each training (median reported)")
    parser.add_argument("--short-epochs", type=int, default=0,
                        help="also train 'ours, defaults' for only this many epochs (to compare "
                             "at equal training time)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for both (1: these matrices are too small to gain "
                             "from more, and on a shared machine extra threads only contend)")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads):
        compare(args)


def compare(args):
    dataset, _ = build(make_config("rbm", out="/nonexistent/unused"))
    train = dataset.train.reshape(len(dataset.train), -1).astype(np.float32)  # (1437, 64)
    test = dataset.test.reshape(len(dataset.test), -1).astype(np.float32)  # (360, 64)
    steps = args.epochs * len(even_batches(len(train), args.batch_size))
    print(f"digits-binary: {len(train)} train / {len(test)} test images; hidden {args.hidden}, "
          f"lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs = {steps} updates, "
          f"seeds {args.seeds}")

    contenders = {"scikit-learn BernoulliRBM": lambda seed: train_sklearn(args, seed, train),
                  "ours, same recipe": lambda seed: train_ours(args, seed, train, "same",
                                                               args.epochs),
                  "ours, defaults": lambda seed: train_ours(args, seed, train, "defaults",
                                                            args.epochs)}
    if args.short_epochs:
        contenders[f"ours, defaults, {args.short_epochs} ep"] = \
            lambda seed: train_ours(args, seed, train, "defaults", args.short_epochs)
    results = {name: {"train": [], "test": [], "seconds": []} for name in contenders}
    for seed in args.seeds:
        times, params = {name: [] for name in contenders}, {}
        for _ in range(args.repeats):  # interleaved: a busy machine slows every contender alike
            for name, fit in contenders.items():
                params[name], seconds = fit(seed)  # the same parameters on every repeat
                times[name].append(seconds)
        for name in contenders:
            train_ll, test_ll = exact_logliks(*params[name], train, test)
            results[name]["train"].append(train_ll)
            results[name]["test"].append(test_ll)
            results[name]["seconds"].append(statistics.median(times[name]))
            print(f"  seed {seed}  {name:<26} test {test_ll:8.3f}  train {train_ll:8.3f} nats  "
                  f"training {statistics.median(times[name]):6.2f} s "
                  f"(runs: {', '.join(f'{t:.2f}' for t in times[name])})", flush=True)

    print(f"\n{'':<26} {'test loglik':>12} {'train loglik':>13} {'train time (s)':>15}")
    for name, r in results.items():
        print(f"{name:<26} {np.mean(r['test']):12.3f} {np.mean(r['train']):13.3f} "
              f"{np.mean(r['seconds']):15.2f}")
    sk, ours = results["scikit-learn BernoulliRBM"], results["ours, same recipe"]
    gain = np.mean(ours["test"]) - np.mean(sk["test"])
    ratio = np.mean(ours["seconds"]) / np.mean(sk["seconds"])
    print(f"\nours (same recipe) minus scikit-learn: test log-likelihood {gain:+.3f} nats; "
          f"training time ratio ours / scikit-learn {ratio:.2f}")


if __name__ == "__main__":
    main()
