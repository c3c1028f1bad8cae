#!/usr/bin/python3
"""Write a random-weight ChatGLM2-6B model file in chatglm.cpp's GGML format, for side-by-side speed runs.

Only for benchmarking chatglm4j against chatglm.cpp (bin/compare, docs/performance.md): the weights are random,
the tokenizer is a small SentencePiece model trained on this repository's docs and padded to ChatGLM2's piece
count. Written from a reading of chatglm.cpp @ f86777c (its converter's ChatGLM2 config record and tensor list,
and the loader, which reads tensors until the end of the file). File layout:

    b"ggml", i32 model_type = 2 (CHATGLM2), i32 record version = 2
    record "iiiiiiifif iii": dtype, padded_vocab_size, hidden, heads, kv groups, layers, ffn_hidden_size,
                             eps (f32), virtual tokens, rope theta (f32), seq_length, eos id, pad id
    i32 proto size, serialized SentencePiece ModelProto (the loader puts [MASK] [gMASK] [sMASK] sop eop after it)
    tensors to EOF: i32 name length, name, i32 ndim, i32 shape (outer first), i32 ggml type,
                    zero padding to a 16-byte file offset, ggml blocks
    2-D weights in the requested type (embedding and output layer included); 1-D tensors f32.
    Per layer: input_layernorm.weight, self_attention.query_key_value.{weight,bias}, self_attention.dense.weight,
    post_attention_layernorm.weight, mlp.dense_h_to_4h.weight ([gate; up], 2*ffn rows), mlp.dense_4h_to_h.weight.

Usage:
  /usr/bin/python3 bench/make_chatglm2_ggml.py --dtype q4_0 --layers 8 --out /tmp/m/chatglm2-6b-rand-L8-q4_0.bin
Needs Debian python3-numpy and python3-sentencepiece. A prompt of about 128 tokens: run chatglm.cpp once with -v
and read the prompt token count it reports (bin/compare does this and gives chatglm4j the same count).
"""
import argparse
import glob
import os
import struct
import sys
import tempfile
import time

import numpy as np

GGML_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 8}
ALIGN = 16
REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def piece(text, score, kind):
    """One ModelProto.pieces entry (field 1): piece (1), score (2, float), type (3)."""
    p = text.encode()
    inner = b"\x0a" + varint(len(p)) + p + b"\x15" + struct.pack("<f", score) + b"\x18" + varint(kind)
    return b"\x0a" + varint(len(inner)) + inner


def tokenizer_proto(pieces, cache):
    """A unigram model trained on the repository's Markdown, padded with never-chosen pieces to `pieces`."""
    if cache and os.path.exists(cache):
        return open(cache, "rb").read()
    import sentencepiece as spm

    text = []
    for fn in sorted(glob.glob(os.path.join(REPO, "**", "*.md"), recursive=True)):
        with open(fn, encoding="utf-8", errors="ignore") as f:
            text.append(f.read())
    with tempfile.TemporaryDirectory() as td:
        with open(os.path.join(td, "corpus.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(text))
        spm.SentencePieceTrainer.train(
            input=os.path.join(td, "corpus.txt"), model_prefix=os.path.join(td, "sp"), vocab_size=3000,
            hard_vocab_limit=False, model_type="unigram", character_coverage=0.9995, split_digits=True,
            byte_fallback=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
        proto = open(os.path.join(td, "sp.model"), "rb").read()
    n = spm.SentencePieceProcessor(model_proto=proto).get_piece_size()
    # appending repeated-field entries to a serialized message extends the list
    proto += b"".join(piece(f"<dummy_{i}>", -1000.0, 1) for i in range(n, pieces))
    assert spm.SentencePieceProcessor(model_proto=proto).get_piece_size() == pieces
    if cache:
        with open(cache, "wb") as f:
            f.write(proto)
    return proto


def random_rows(rng, rows, cols, gtype):
    """Raw ggml bytes of a rows x cols weight; quantized blocks get a plausible fp16 scale and random quants."""
    n = rows * cols
    if gtype == "f32":
        return (rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)).tobytes()
    if gtype == "f16":
        return (rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)).astype(np.float16).tobytes()
    nb = n // 32
    size = {"q4_0": 18, "q8_0": 34}[gtype]  # {fp16 d; 16 nibble bytes} / {fp16 d; 32 int8}
    blk = np.frombuffer(rng.bytes(nb * size), dtype=np.uint8).reshape(nb, size).copy()
    top = 8 if gtype == "q4_0" else 127
    d = (np.float32(0.045 / top) * (0.8 + 0.4 * rng.random(nb, dtype=np.float32))).astype(np.float16)
    blk[:, 0:2] = d.view(np.uint8).reshape(nb, 2)
    if gtype == "q8_0":
        q = blk[:, 2:].view(np.int8)
        q[q == -128] = -127  # ggml's quantizer never writes -128
    return blk.tobytes()


def tensor(f, name, shape, gtype, write):
    f.write(struct.pack("i", len(name)) + name.encode())
    f.write(struct.pack("i" * (2 + len(shape)), len(shape), *shape, GGML_TYPES[gtype]))
    f.write(b"\0" * (-f.tell() % ALIGN))
    write(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtype", choices=sorted(GGML_TYPES), required=True)
    ap.add_argument("--layers", type=int, default=28)
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-groups", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=13696)
    ap.add_argument("--vocab", type=int, default=65024, help="padded_vocab_size")
    ap.add_argument("--pieces", type=int, default=64794, help="tokenizer pieces (special ids follow them)")
    ap.add_argument("--seq-length", type=int, default=32768)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tokenizer-cache", default=None, help="reuse/save the padded tokenizer proto here")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    H, F, V, L, g = a.hidden, a.ffn, a.vocab, a.layers, a.dtype
    head = H // a.heads
    qkv = H + 2 * a.kv_groups * head
    if L < 1 or H % a.heads or (g not in ("f32", "f16") and (H % 32 or F % 32)) or a.pieces + 5 > V:
        sys.exit("make_chatglm2_ggml: error: inconsistent geometry")
    t0 = time.time()
    rng = np.random.default_rng(a.seed)
    proto = tokenizer_proto(a.pieces, a.tokenizer_cache)

    def w2d(rows, cols):
        def w(f):
            step = max(1, (1 << 26) // cols)
            for r in range(0, rows, step):
                f.write(random_rows(rng, min(step, rows - r), cols, g))
        return w

    def w1d(v):
        return lambda f: f.write(np.asarray(v, dtype=np.float32).tobytes())

    tmp = a.out + ".part"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(b"ggml" + struct.pack("i", 2))
        f.write(struct.pack("iiiiiiiififiii", 2, GGML_TYPES[g], V, H, a.heads, a.kv_groups, L, F, 1e-5, 0,
                            10000.0, a.seq_length, 2, 0))
        f.write(struct.pack("i", len(proto)) + proto)
        tensor(f, "transformer.embedding.word_embeddings.weight", (V, H), g, w2d(V, H))
        for i in range(L):
            p = f"transformer.encoder.layers.{i}."
            tensor(f, p + "input_layernorm.weight", (H,), "f32", w1d(np.ones(H)))
            tensor(f, p + "self_attention.query_key_value.weight", (qkv, H), g, w2d(qkv, H))
            tensor(f, p + "self_attention.query_key_value.bias", (qkv,), "f32", w1d(rng.standard_normal(qkv) * 0.01))
            tensor(f, p + "self_attention.dense.weight", (H, H), g, w2d(H, H))
            tensor(f, p + "post_attention_layernorm.weight", (H,), "f32", w1d(np.ones(H)))
            tensor(f, p + "mlp.dense_h_to_4h.weight", (2 * F, H), g, w2d(2 * F, H))
            tensor(f, p + "mlp.dense_4h_to_h.weight", (H, F), g, w2d(H, F))
        tensor(f, "transformer.encoder.final_layernorm.weight", (H,), "f32", w1d(np.ones(H)))
        tensor(f, "transformer.output_layer.weight", (V, H), g, w2d(V, H))
        size = f.tell()
    os.replace(tmp, a.out)
    print(f"wrote {a.out}: {size / 2**30:.3f} GiB, {g}, {L} layers, {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
