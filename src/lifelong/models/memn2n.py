"""End-to-end memory network (Sukhbaatar et al., arXiv 1503.08895) as a backbone for bAbI.

Input: token ids of shape (N, M + 1, J): M memory sentences, most recent first and zero-padded at
the end, then the question in the last row; 0 is the padding token. The backbone returns
o^K + u^K (Sec. 2.1: u^{k+1} = u^k + o^k); the head W turns it into answer logits, so the answer
layer is the scenario's head like any other model's.

Follows the paper's 1k-bAbI setting: adjacent weight tying of the embeddings (A^{k+1} = C^k,
B = A^1; Sec. 2.2), position encoding of words (Sec. 4.1: l_kj = (1 - j/J) - (k/d)(1 - 2j/J)) and
temporal encoding (Sec. 4.1: m_i = sum_j l_j * A x_ij + T_A(i)). Named ``memn2n`` (3 hops, d = 20)
or ``memn2n-HxD``. Not here: linear start (LS) and random noise on the time index (RN), which are
training tricks, and layer-wise tying (LW); nor the adjacent scheme's W^T = C^K, because the answer
layer is the scenario's head. Trained per task, it is therefore Table 1's "PE" column (3 hops, per
task, 1k), not "PE LS RN" (benchmarks/babi_memn2n.py).
"""

from __future__ import annotations

import re

import torch
from torch import Tensor, nn

from lifelong._registry import MODELS


def position_encoding(sentence_length: int, dim: int) -> Tensor:
    """l_kj = (1 - j/J) - (k/d)(1 - 2j/J) with 1-based j (word) and k (embedding dim); shape (J, d)."""
    j = torch.arange(1, sentence_length + 1, dtype=torch.float32).unsqueeze(1)
    k = torch.arange(1, dim + 1, dtype=torch.float32).unsqueeze(0)
    big_j = float(sentence_length)
    return (1 - j / big_j) - (k / dim) * (1 - 2 * j / big_j)


class MemN2N(nn.Module):
    """K hops over memory with adjacent weight tying, position and temporal encoding."""

    def __init__(self, vocab: int, memory: int, sentence_length: int, dim: int = 20, hops: int = 3) -> None:
        super().__init__()
        if vocab < 2:
            raise ValueError("memn2n needs a token vocabulary (a stream of token ids, e.g. babi)")
        self.hops, self.out_features = hops, dim
        # hops + 1 embeddings: A^k = E[k-1], C^k = E[k], B = E[0] (adjacent tying)
        self.embed = nn.ModuleList(nn.Embedding(vocab, dim, padding_idx=0) for _ in range(hops + 1))
        self.temporal = nn.ParameterList(nn.Parameter(torch.randn(memory, dim) * 0.1) for _ in range(hops + 1))
        for embedding in self.embed:
            assert isinstance(embedding, nn.Embedding)
            nn.init.normal_(embedding.weight, std=0.1)
            embedding.weight.data[0].zero_()
        self.register_buffer("encoding", position_encoding(sentence_length, dim))

    def forward(self, x: Tensor) -> Tensor:
        story, question = x[:, :-1], x[:, -1]
        present = (story != 0).any(-1)  # (N, M): slots holding a sentence
        encoding = self.get_buffer("encoding")
        u = (self.embed[0](question) * encoding).sum(1)  # (N, d)
        for k in range(self.hops):
            m = (self.embed[k](story) * encoding).sum(2) + self.temporal[k]  # (N, M, d)
            c = (self.embed[k + 1](story) * encoding).sum(2) + self.temporal[k + 1]
            scores = torch.einsum("nmd,nd->nm", m, u).masked_fill(~present, float("-inf"))
            p = torch.softmax(scores, dim=1).nan_to_num(0.0)  # an empty story attends to nothing
            u = u + torch.einsum("nm,nmd->nd", p, c)
        return u


@MODELS.register("memn2n", family="backbone", summary="end-to-end memory network for token stories: memn2n-3x20")
def memn2n(size: str, input_shape: tuple[int, ...], vocab: int = 0) -> MemN2N:
    hops, dim = 3, 20
    if size:
        m = re.fullmatch(r"(\d+)x(\d+)", size)
        if not m:
            raise ValueError(f"bad memn2n size {size!r}: use HOPSxDIM, e.g. 3x20")
        hops, dim = int(m[1]), int(m[2])
    if len(input_shape) != 2:
        raise ValueError(f"memn2n expects inputs of shape (memory + 1, sentence length), got {input_shape}")
    return MemN2N(vocab, input_shape[0] - 1, input_shape[1], dim, hops)
