#!/usr/bin/env python3
"""Writes Tests/GGUFTests/Fixtures/quant-reference.gguf: an independent reference for LlamaCL's
(de)quantizers, made with gguf-py (`pip install gguf`), the numpy (de)quantizers that ship with
llama.cpp. Regenerate with `python3 scripts/make-quant-fixtures.py` (deterministic for a given
gguf-py / numpy version).

For every type T in F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K the file holds:
  T.random, T.random.expected      blocks of random bytes (with valid, finite f16 scales) and
                                   gguf-py's dequantization of them, as F32
and, where gguf-py can quantize T (all but the K-quants):
  T.source                         F32 input values
  T.quantized, T.quantized.expected  gguf-py's quantization of T.source and its dequantization
Tensor shapes are [rows, 256] (numpy order); values are stored in ggml order as usual.
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFWriter
from gguf import quants

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "GGUFTests", "Fixtures", "quant-reference.gguf")

ROW = 256
ROWS = 4  # 1024 values per tensor: 32 blocks of 32 or 4 super-blocks of 256

rng = np.random.default_rng(20240611)


def random_halves(n, lo_exp=-7.0, hi_exp=0.0, signed=True):
    """Finite f16 scales spanning subnormal to ~1 (as raw uint8 pairs)."""
    mag = 10.0 ** rng.uniform(lo_exp, hi_exp, size=n)
    if signed:
        mag *= rng.choice([-1.0, 1.0], size=n)
    h = mag.astype(np.float16)
    assert np.all(np.isfinite(h))
    return h.view(np.uint8).reshape(n, 2)


def random_blocks(qtype):
    block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
    n = ROWS * ROW // block_size
    b = rng.integers(0, 256, size=(n, type_size), dtype=np.uint8)
    # Put valid f16 values where the block layout has its scales.
    if qtype in (Q.Q4_0, Q.Q5_0, Q.Q8_0):
        b[:, 0:2] = random_halves(n)
    elif qtype in (Q.Q4_1, Q.Q5_1):
        b[:, 0:2] = random_halves(n)
        b[:, 2:4] = random_halves(n)
    elif qtype in (Q.Q4_K, Q.Q5_K):
        b[:, 0:2] = random_halves(n, signed=False)   # d
        b[:, 2:4] = random_halves(n, signed=False)   # dmin
        b[0, 0:2] = np.array([0.0], dtype=np.float16).view(np.uint8)  # a zero super-scale
    elif qtype == Q.Q6_K:
        b[:, 208:210] = random_halves(n)
    elif qtype == Q.Q2_K:
        b[:, 80:82] = random_halves(n, signed=False)  # d
        b[:, 82:84] = random_halves(n, signed=False)  # dmin
    elif qtype == Q.Q3_K:
        b[:, 108:110] = random_halves(n)
    return b.reshape(ROWS, -1)


def random_f16():
    bits = rng.integers(0, 65536, size=ROWS * ROW, dtype=np.uint16)
    nan = (bits & 0x7C00) == 0x7C00
    nan &= (bits & 0x03FF) != 0
    bits[nan] &= 0xFC00  # NaN → ±inf: NaN payloads are checked exhaustively in the Swift tests
    bits[:8] = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0x7C00]
    return bits.view(np.uint8).reshape(ROWS, -1)


def random_bf16():
    bits = rng.integers(0, 65536, size=ROWS * ROW, dtype=np.uint16)
    nan = ((bits & 0x7F80) == 0x7F80) & ((bits & 0x007F) != 0)
    bits[nan] &= 0xFF80
    bits[:6] = [0x0000, 0x8000, 0x0001, 0x007F, 0x7F7F, 0xFF80]
    return bits.view(np.uint8).reshape(ROWS, -1)


def source_values(block_size):
    """Gaussian rows with per-block scales, plus awkward blocks."""
    n = ROWS * ROW
    x = rng.standard_normal(n).astype(np.float32)
    nb = n // block_size
    scale = (10.0 ** rng.uniform(-3, 1, size=nb)).astype(np.float32)
    x = (x.reshape(nb, block_size) * scale[:, None]).reshape(-1)
    blocks = x.reshape(nb, block_size)
    assert nb >= 6
    blocks[0] = 0.0                                   # all zero
    blocks[1] = 0.75                                  # constant
    blocks[2] = rng.standard_normal(block_size) * 0.01
    blocks[2, 5] = 3.0                                # one positive outlier
    blocks[3] = rng.standard_normal(block_size) * 0.01
    blocks[3, 7] = -3.0                               # one negative outlier
    blocks[4] = np.linspace(-1, 1, block_size)        # evenly spread, exact ties for some types
    blocks[5] = rng.standard_normal(block_size) * 1e-6  # scales underflow f16
    return blocks.reshape(ROWS, ROW).astype(np.float32)


def f16_source():
    x = source_values(32).reshape(-1)
    special = np.array([65504, 65519.99, 65520, 70000, -1e9, 6.1035156e-05, 6.0975552e-05,
                        5.9604645e-08, 2.9802322e-08, 2.9802326e-08, 1e-10, -0.0, 1.0009766,
                        1.00048828125, 1.00146484375, 2049, 2051, np.inf, -np.inf],
                       dtype=np.float32)
    x[: len(special)] = special
    return x.reshape(ROWS, ROW)


def bf16_source():
    x = source_values(32).reshape(-1)
    u = np.array([0x3F808000, 0x3F818000, 0x3F80C000, 0x7F7FFFFF, 0x00010000, 0x80008000,
                  0x7F800000, 0xFF800000], dtype=np.uint32)
    x[: len(u)] = u.view(np.float32)
    return x.reshape(ROWS, ROW)


def name(qtype):
    return qtype.name.lower().replace("_k", "_K")


def main():
    w = GGUFWriter(OUT, arch="quant-reference")
    w.add_string("general.description", "gguf-py quantization reference for LlamaCL tests")
    w.add_string("reference.gguf_py_version", getattr(sys.modules["gguf"], "__version__", "unknown"))
    w.add_string("reference.numpy_version", np.__version__)

    # Q2_K and Q3_K last, so that the random streams of the older tensors stay as they were.
    types = [Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q2_K, Q.Q3_K]
    for qtype in types:
        n = name(qtype)
        # Random bytes → gguf-py dequantization.
        if qtype == Q.F16:
            raw = random_f16()
        elif qtype == Q.BF16:
            raw = random_bf16()
        else:
            raw = random_blocks(qtype)
        expected = quants.dequantize(raw, qtype).astype(np.float32)
        assert expected.shape == (ROWS, ROW), (n, expected.shape)
        assert np.all(np.isfinite(expected) | (qtype in (Q.F16, Q.BF16))), n
        w.add_tensor(f"{n}.random", raw, raw_dtype=qtype)
        w.add_tensor(f"{n}.random.expected", expected)

        # Seeded floats → gguf-py quantization, where gguf-py has a quantizer.
        if qtype in (Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K):
            try:
                quants.quantize(np.zeros((1, 256), dtype=np.float32), qtype)
                print(f"note: gguf-py can now quantize {n}; consider adding it", file=sys.stderr)
            except NotImplementedError:
                pass
            continue
        if qtype == Q.F16:
            src = f16_source()
        elif qtype == Q.BF16:
            src = bf16_source()
        else:
            src = source_values(quants.GGML_QUANT_SIZES[qtype][0])
        with np.errstate(over="ignore"):
            q = quants.quantize(src, qtype)
        q = q.view(np.uint8).reshape(ROWS, -1)
        deq = quants.dequantize(q, qtype).astype(np.float32)
        w.add_tensor(f"{n}.source", src)
        w.add_tensor(f"{n}.quantized", q, raw_dtype=qtype)
        w.add_tensor(f"{n}.quantized.expected", deq)

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    size = os.path.getsize(OUT)
    assert size < 300_000, size
    print(f"wrote {OUT} ({size} bytes)")


if __name__ == "__main__":
    main()
