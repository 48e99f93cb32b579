import hashlib

import numpy as np

from explain.data import BUNDLED, SPLIT_SIZES, load_mnist, stratified_split

# MNIST's own figures (data/README of the shared copy, and the IDX files' headers): class counts of the
# official sets, and the first ten labels of the test set in its original order.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


def test_the_bundled_file_is_the_documented_mnist():
    assert hashlib.sha256(BUNDLED.read_bytes()).hexdigest() == SHA256 == load_mnist().sha256


def test_split_has_the_documented_sizes_and_types():
    data = load_mnist()
    assert SPLIT_SIZES == (55000, 5000)
    for split, size in zip((data.train, data.val, data.test), (55000, 5000, 10000)):
        assert split.x.shape == (size, 28, 28) and split.x.dtype == np.uint8
        assert split.y.shape == (size,) and set(np.unique(split.y)) == set(range(10))


def test_the_test_set_is_mnists_official_one_in_its_order():
    test = load_mnist().test
    assert np.bincount(test.y).tolist() == TEST_COUNTS
    assert test.y[:10].tolist() == FIRST_TEST_LABELS


def test_train_and_validation_are_all_of_mnists_training_digits():
    data = load_mnist()
    assert (np.bincount(data.train.y) + np.bincount(data.val.y)).tolist() == TRAIN_COUNTS
    with np.load(BUNDLED) as d:
        official = {r.tobytes() for r in d["x_train"].reshape(60000, -1)}
    ours = {r.tobytes() for s in (data.train, data.val) for r in s.x.reshape(len(s.x), -1)}
    assert ours == official


def test_split_is_deterministic_and_parts_do_not_overlap():
    y = load_mnist().val.y  # any label vector will do for the index split
    first = stratified_split(y, (3000, 1000, 1000), seed=7)
    again = stratified_split(y, (3000, 1000, 1000), seed=7)
    other = stratified_split(y, (3000, 1000, 1000), seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    joined = np.concatenate(first)
    assert len(np.unique(joined)) == len(joined) == 5000


def test_validation_holds_no_training_digit():
    data = load_mnist()
    train = {r.tobytes() for r in data.train.x.reshape(len(data.train.x), -1)}
    val = {r.tobytes() for r in data.val.x.reshape(len(data.val.x), -1)}
    # A few MNIST digits occur twice in the training set itself, so allow a handful, not a leak.
    assert len(train & val) <= 3


def test_split_is_stratified():
    data = load_mnist()
    overall = np.array(TRAIN_COUNTS) / 60000
    for split in (data.train, data.val):
        assert np.abs(np.bincount(split.y) / len(split.y) - overall).max() < 0.001
