import numpy as np

from explain.data import SPLIT_SIZES, load_mnist, stratified_split


def test_split_has_the_documented_sizes_and_types():
    data = load_mnist()
    for split, size in zip((data.train, data.val, data.test), SPLIT_SIZES):
        assert split.x.shape == (size, 28, 28) and split.x.dtype == np.uint8
        assert split.y.shape == (size,) and set(np.unique(split.y)) == set(range(10))


def test_split_is_deterministic_and_parts_do_not_overlap():
    y = load_mnist().train.y  # any label vector will do for the index split
    first = stratified_split(y, (3000, 1000, 1000), seed=7)
    again = stratified_split(y, (3000, 1000, 1000), seed=7)
    other = stratified_split(y, (3000, 1000, 1000), seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    joined = np.concatenate(first)
    assert len(np.unique(joined)) == len(joined) == 5000


def test_shipped_split_holds_distinct_digits():
    data = load_mnist()
    rows = [s.x.reshape(len(s.x), -1) for s in (data.train, data.val, data.test)]
    hashes = [{r.tobytes() for r in part} for part in rows]
    # A few MNIST digits occur twice in the data itself, so allow a handful, not a leak.
    assert len(hashes[0] & hashes[2]) <= 3 and len(hashes[1] & hashes[2]) <= 3


def test_split_is_stratified():
    data = load_mnist()
    overall = np.bincount(np.concatenate([data.train.y, data.val.y, data.test.y])) / 10000
    for split in (data.train, data.val, data.test):
        assert np.abs(np.bincount(split.y) / len(split.y) - overall).max() < 0.005
