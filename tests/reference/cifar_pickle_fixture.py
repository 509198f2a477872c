#!/usr/bin/env python3
"""Tiny CIFAR python-version pickles, in the structure of the real files, for the format tests.

Run with /usr/bin/python3 (needs numpy); writes tests/fixtures/cifar-py/. CI only reads the
committed output.

The real files (https://www.cs.toronto.edu/~kriz/cifar.html) were written by Python 2's cPickle at
protocol 2: dicts whose keys and strings are Python 2 `str` (opcode BINSTRING, i.e. bytes: they
load as b'data' under pickle.load(f, encoding='bytes')), and whose 'data' is a numpy uint8 array
N x 3072 pickled through numpy.core.multiarray._reconstruct + __setstate__((1, shape, dtype,
is_fortran, raw bytes as a str)). A Python 3 pickler would write text as unicode and bytes through
_codecs.encode, so `Py2Pickler` writes every str and bytes object as BINSTRING, as Python 2 did.

Layout (same names as the real archives):
  cifar-10-batches-py/   data_batch_1..5 (4 images each), test_batch (4), batches.meta
  cifar-100-python/      train (8 images), test (4), meta
  variants/test_batch_py3   CIFAR-10 test_batch written by Python 3's own pickler at protocol 2
                            (str keys, data bytes through _codecs.encode)

Pixel values (known to the tests): image with label L (fine label for CIFAR-100), pixel row y,
column x:  R = (L * 23 + 7) % 256,  G = (y * 8 + x) % 256,  B = (x * 8 + y) % 256.
Labels: CIFAR-10 batch b (1..5), image i: (4 * (b - 1) + i) % 10; test_batch image i: (i + 3) % 10.
CIFAR-100 train image i: fine (i * 13 + 5) % 100, coarse (i * 3 + 1) % 20; test image i: fine
(i * 29 + 11) % 100, coarse (i * 7 + 2) % 20.
"""
import os
import pickle
import struct
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'cifar-py')

CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
COARSE_NAMES = ['coarse_%02d' % k for k in range(20)]
FINE_NAMES = ['fine_%03d' % k for k in range(100)]


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2's str (BINSTRING / SHORT_BINSTRING)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        data = obj.encode('latin1') if isinstance(obj, str) else obj
        n = len(data)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', n) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def images(labels):
    n = len(labels)
    y, x = np.meshgrid(np.arange(32), np.arange(32), indexing='ij')
    out = np.zeros((n, 3, 32, 32), dtype=np.uint8)
    for i, lab in enumerate(labels):
        out[i, 0] = (lab * 23 + 7) % 256
        out[i, 1] = (y * 8 + x) % 256
        out[i, 2] = (x * 8 + y) % 256
    return out.reshape(n, 3072)


def write(path, obj, py2=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        if py2:
            Py2Pickler(f, protocol=2).dump(obj)
        else:
            pickle.dump(obj, f, protocol=2)


def check(path, expected_keys):
    with open(path, 'rb') as f:
        d = pickle.load(f, encoding='bytes')
    assert sorted(d.keys()) == sorted(expected_keys), (path, d.keys())
    return d


def main():
    c10 = os.path.join(OUT, 'cifar-10-batches-py')
    batch_keys = [b'batch_label', b'labels', b'data', b'filenames']
    for b in range(1, 6):
        labels = [(4 * (b - 1) + i) % 10 for i in range(4)]
        d = {
            b'batch_label': b'training batch %d of 5' % b,
            b'labels': labels,
            b'data': images(labels),
            b'filenames': [b'fixture_%d_%d.png' % (b, i) for i in range(4)],
        }
        write(os.path.join(c10, 'data_batch_%d' % b), d)
        got = check(os.path.join(c10, 'data_batch_%d' % b), batch_keys)
        assert (got[b'data'] == images(labels)).all() and got[b'labels'] == labels
    test_labels = [(i + 3) % 10 for i in range(4)]
    test = {
        b'batch_label': b'testing batch 1 of 1',
        b'labels': test_labels,
        b'data': images(test_labels),
        b'filenames': [b'fixture_test_%d.png' % i for i in range(4)],
    }
    write(os.path.join(c10, 'test_batch'), test)
    check(os.path.join(c10, 'test_batch'), batch_keys)
    write(os.path.join(c10, 'batches.meta'), {b'num_cases_per_batch': 4, b'label_names': [n.encode() for n in CIFAR10_NAMES], b'num_vis': 3072})
    check(os.path.join(c10, 'batches.meta'), [b'num_cases_per_batch', b'label_names', b'num_vis'])

    # Python 3's own pickler, protocol 2, str keys: the variant a user re-pickling the data makes.
    py3 = {k.decode(): v for k, v in test.items()}
    py3['batch_label'] = py3['batch_label'].decode()
    py3['filenames'] = [f.decode() for f in py3['filenames']]
    write(os.path.join(OUT, 'variants', 'test_batch_py3'), py3, py2=False)
    with open(os.path.join(OUT, 'variants', 'test_batch_py3'), 'rb') as f:
        assert (pickle.load(f)['data'] == images(test_labels)).all()

    c100 = os.path.join(OUT, 'cifar-100-python')
    keys100 = [b'filenames', b'batch_label', b'fine_labels', b'coarse_labels', b'data']
    for name, n, fine_of, coarse_of in [
        ('train', 8, lambda i: (i * 13 + 5) % 100, lambda i: (i * 3 + 1) % 20),
        ('test', 4, lambda i: (i * 29 + 11) % 100, lambda i: (i * 7 + 2) % 20),
    ]:
        fine = [fine_of(i) for i in range(n)]
        coarse = [coarse_of(i) for i in range(n)]
        d = {
            b'filenames': [b'fixture_%s_%d.png' % (name.encode(), i) for i in range(n)],
            b'batch_label': b'training batch 1 of 1' if name == 'train' else b'testing batch 1 of 1',
            b'fine_labels': fine,
            b'coarse_labels': coarse,
            b'data': images(fine),
        }
        write(os.path.join(c100, name), d)
        got = check(os.path.join(c100, name), keys100)
        assert got[b'fine_labels'] == fine and (got[b'data'] == images(fine)).all()
    write(os.path.join(c100, 'meta'), {b'fine_label_names': [n.encode() for n in FINE_NAMES], b'coarse_label_names': [n.encode() for n in COARSE_NAMES]})
    check(os.path.join(c100, 'meta'), [b'fine_label_names', b'coarse_label_names'])
    print('wrote', os.path.normpath(OUT), file=sys.stderr)


if __name__ == '__main__':
    main()
