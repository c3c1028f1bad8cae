# Loads a chatglm4j training checkpoint the way ptuning/main.py does: torch.load of pytorch_model.bin, keep the
# transformer.prefix_encoder.* entries with that prefix stripped, load_state_dict (strict) into a prefix encoder
# module of the reference's shape. Prints {name: [shape, sum]} and the optimizer tensors' names as JSON.
import json
import sys

import torch

folder = sys.argv[1]
cfg = json.load(open(folder + "/config.json"))
pre, h, layers = cfg["pre_seq_len"], cfg["hidden_size"], cfg["num_layers"]


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        if cfg["prefix_projection"]:
            self.embedding = torch.nn.Embedding(pre, h)
            self.trans = torch.nn.Sequential(torch.nn.Linear(h, h), torch.nn.Tanh(), torch.nn.Linear(h, 2 * layers * h))
        else:
            self.embedding = torch.nn.Embedding(pre, 2 * layers * h)


state = torch.load(folder + "/pytorch_model.bin")
stripped = {k[len("transformer.prefix_encoder."):]: v for k, v in state.items() if k.startswith("transformer.prefix_encoder.")}
assert len(stripped) == len(state), "only prefix encoder tensors expected"
enc = Encoder()
enc.load_state_dict(stripped)  # strict: every key present, shapes equal
out = {k: [list(v.shape), float(v.double().sum())] for k, v in enc.state_dict().items()}
opt = torch.load(folder + "/optimizer.pt")
print(json.dumps({"parameters": out, "optimizer": sorted(opt.keys())}))
