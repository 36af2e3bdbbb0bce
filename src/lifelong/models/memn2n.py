"""End-to-end memory network (Sukhbaatar et al., arXiv 1503.08895) as a backbone for bAbI.

Input: token ids of shape (N, M + 1, J): M memory sentences, most recent first and zero-padded at
the end, then the question in the last row; 0 is the padding token. The backbone returns
o^K + u^K (Sec. 2.1: u^{k+1} = u^k + o^k); the head W turns it into answer logits, so the answer
layer is the scenario's head like any other model's.

Follows the paper's 1k-bAbI setting: adjacent weight tying of the embeddings (A^{k+1} = C^k,
B = A^1; Sec. 2.2), position encoding of words (Sec. 4.1: l_kj = (1 - j/J) - (k/d)(1 - 2j/J)) and
temporal encoding (Sec. 4.1: m_i = sum_j l_j * A x_ij + T_A(i)). Named ``memn2n`` (3 hops, d = 20)
or ``memn2n-HxD``; ``memn2n-HxD-rn`` adds random noise (RN, Sec. 4.1): in training, each story's
time indices are a sorted random subset of 1..n + b, b drawn from 0..ceil(0.1 n), i.e. up to 10 %
empty memories inserted (the authors' ``randomize_time = 0.1``). Linear start (LS, Sec. 4.2) is the
``linear_start`` switch, the memory layers without their softmax, which the training loop turns on
for ``TrainConfig.linear_start_epochs``. The adjacent scheme's last tie, the answer layer to the last
output embedding (W^T = C^K), is the ``-tied`` suffix (``memn2n-3x20-rn-tied``): the scenario's head then
reads its rows from C^K (``heads.TiedAnswers``), which needs a stream whose answers are words. Without it
the head is the scenario's own linear layer, as for every other backbone. ``-empty``
(``memn2n-3x20-empty-rn-tied``) lets the empty memory slots weigh in the softmax as the authors' code does
(MemN2N-babi-matlab: the memory is config.sz = min(50, longest story) slots, the unfilled ones nil words
of embedding 0, so each enters with score u . 0 = 0 and adds nothing to o): the paper's equations do not say,
and without the flag an empty slot gets no weight at all. The M of a model is its stream's memory rows
(the longest story of the stream's tasks, at most 50), as the authors' sz. Not here: layer-wise tying (LW).
The paper's training recipe (SGD, annealing, clipping, LS, best of 10) is ``configs/memn2n-paper.toml`` and
benchmarks/babi_memn2n.py.
"""

from __future__ import annotations

import math
import re

import torch
from torch import Tensor, nn
from torch._C._functorch import is_functorch_wrapped_tensor

from lifelong._registry import MODELS


def position_encoding(sentence_length: int, dim: int) -> Tensor:
    """l_kj = (1 - j/J) - (k/d)(1 - 2j/J) with 1-based j (word) and k (embedding dim); shape (J, d)."""
    j = torch.arange(1, sentence_length + 1, dtype=torch.float32).unsqueeze(1)
    k = torch.arange(1, dim + 1, dtype=torch.float32).unsqueeze(0)
    big_j = float(sentence_length)
    return (1 - j / big_j) - (k / dim) * (1 - 2 * j / big_j)


class MemN2N(nn.Module):
    """K hops over memory with adjacent weight tying, position and temporal encoding.

    ``time_noise`` is RN's fraction of empty memories (0: none); ``linear_start`` drops the softmax
    over memories (p_i = u^T m_i), the linear model LS starts from; ``tied_answers`` asks the learner for
    an answer layer tied to :meth:`answer_embedding` (W^T = C^K); ``empty_slots`` puts all ``memory`` slots
    in the softmax, the empty ones with score 0 (the authors' code), where otherwise they get no weight.
    """

    def __init__(self, vocab: int, memory: int, sentence_length: int, dim: int = 20, hops: int = 3,
                 time_noise: float = 0.0, tied_answers: bool = False, empty_slots: bool = False) -> None:
        super().__init__()
        self.time_noise, self.linear_start, self.tied_answers = time_noise, False, tied_answers
        self.empty_slots = empty_slots
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
        present = (story != 0).any(-1)  # (N, M): slots holding a sentence, a prefix of each story
        # Slots past the longest story in the batch hold nothing for anyone: they are left out, which
        # changes no attention weight (theirs is exactly 0) and cuts the work to the stories' length.
        # (Not under torch.func's vmap, as in per-example gradients: there a length cannot be read.)
        if len(x) and not is_functorch_wrapped_tensor(x):
            slots = max(int(present.sum(1).max()), 1)
            story, present = story[:, :slots], present[:, :slots]
        slots = story.shape[1]
        u = self.encode(0, question.unsqueeze(1)).squeeze(1)  # (N, d)
        # m^k = Σ_j l_j ⊙ A^k x_ij + T_A^k and c^k = the same with C^k; adjacent tying makes c^k = m^(k+1),
        # so each of the hops + 1 embeddings encodes the story once.
        if self.training and self.time_noise > 0 and not is_functorch_wrapped_tensor(x):
            index = self.noisy_time(present)
            memory = [self.encode(k, story) + self.temporal[k][index] for k in range(self.hops + 1)]
        else:
            memory = [self.encode(k, story) + self.temporal[k][:slots] for k in range(self.hops + 1)]
        # log(M - n): the summed weight of a story's M - n empty slots, each at score 0 (-empty)
        blanks = (len(self.temporal[0]) - present.sum(1, keepdim=True)).log() if self.empty_slots else None
        for k in range(self.hops):
            scores = torch.einsum("nmd,nd->nm", memory[k], u)
            if self.linear_start:
                p = scores.masked_fill(~present, 0.0)
            elif blanks is not None:  # every one of the M slots in the softmax, an empty one with logit 0
                p = torch.softmax(torch.cat([scores.masked_fill(~present, float("-inf")), blanks], 1), 1)[:, :-1]
            else:
                p = torch.softmax(scores.masked_fill(~present, float("-inf")), dim=1).nan_to_num(0.0)  # empty: none
            u = u + torch.einsum("nm,nmd->nd", p, memory[k + 1])
        return u

    def answer_embedding(self) -> Tensor:
        """C^K, the last hop's output embedding (vocab, d): the answer layer's weight when tied."""
        embedding = self.embed[self.hops]
        assert isinstance(embedding, nn.Embedding)
        return embedding.weight

    def noisy_time(self, present: Tensor) -> Tensor:
        """RN's time index of every slot (N, S): slot i of a story of n sentences gets the i-th smallest of n
        indices drawn without replacement from 0..n + b - 1, b uniform on 0..ceil(time_noise * n); indices past
        the last temporal row are held at it (the authors' "vocabulary limit"). Drawn on the CPU from torch's
        global generator (saved in checkpoints), so every device draws the same noise."""
        n = present.sum(1, keepdim=True)  # (N, 1)
        draws = torch.rand(len(n), 1 + present.shape[1] + math.ceil(self.time_noise * present.shape[1]),
                           device="cpu").to(n.device)
        blanks = torch.floor(draws[:, :1] * (torch.ceil(self.time_noise * n) + 1))
        width = present.shape[1] + math.ceil(self.time_noise * present.shape[1])
        positions = torch.arange(width, device=n.device)
        keys = draws[:, 1:].masked_fill(positions >= n + blanks, 2.0)
        chosen = keys.argsort(1)[:, :present.shape[1]]  # the first n: a random n-subset of 0..n+b-1
        chosen = chosen.masked_fill(~present, width).sort(1).values
        return chosen.clamp(max=len(self.temporal[0]) - 1)

    def encode(self, k: int, sentences: Tensor) -> Tensor:
        """Σ_j l_j ⊙ E_k x_j for every sentence of token ids (N, S, J): (N, S, d), E_k the k-th embedding.

        One weighted bag per sentence from a table of l_j ⊙ E_k[v] (J · vocab rows, small): the
        (N, S, J, d) tensor of looked-up words is never formed. The padding row is held at zero and
        gets no gradient, as ``padding_idx`` does for a lookup. Under ``torch.func`` transforms (per-example
        gradients), which cannot batch bags, the words are looked up one by one instead.
        """
        n, s, j = sentences.shape
        embedding = self.embed[k]
        assert isinstance(embedding, nn.Embedding)
        if is_functorch_wrapped_tensor(sentences):  # torch.func has no batching rule for bags: look words up
            return (embedding(sentences) * self.get_buffer("encoding")[:j]).sum(2)
        weight = nn.functional.pad(embedding.weight[1:], (0, 0, 1, 0))  # row 0 (padding) a constant 0
        vocab, dim = weight.shape
        table = (self.get_buffer("encoding")[:j].unsqueeze(1) * weight.unsqueeze(0)).reshape(j * vocab, dim)
        offsets = torch.arange(j, device=sentences.device) * vocab
        index = (sentences.long() + offsets).reshape(n * s, j)
        return nn.functional.embedding_bag(index, table, mode="sum").reshape(n, s, dim)


@MODELS.register("memn2n", family="backbone",
                 summary="end-to-end memory network for token stories: memn2n-3x20, memn2n-3x20-rn (random noise), "
                         "memn2n-3x20-rn-tied (answer layer tied to the last output embedding), "
                         "memn2n-3x20-empty-rn-tied (empty slots weigh in the softmax, as the authors' code)")
def memn2n(size: str, input_shape: tuple[int, ...], vocab: int = 0) -> MemN2N:
    hops, dim = 3, 20
    parts = size.split("-") if size else []
    if parts and re.fullmatch(r"\d+x\d+", parts[0]):
        hops, dim = (int(v) for v in parts.pop(0).split("x"))
    flags = set(parts)
    if len(flags) != len(parts) or not flags <= {"empty", "rn", "tied"} or parts != sorted(parts):
        raise ValueError(f"bad memn2n size {size!r}: use HOPSxDIM, e.g. 3x20, then in this order -empty for empty "
                         f"slots in the softmax, -rn for random noise and -tied for the tied answer layer "
                         f"(memn2n-3x20-empty-rn-tied)")
    if len(input_shape) != 2:
        raise ValueError(f"memn2n expects inputs of shape (memory + 1, sentence length), got {input_shape}")
    return MemN2N(vocab, input_shape[0] - 1, input_shape[1], dim, hops, 0.1 if "rn" in flags else 0.0,
                  "tied" in flags, "empty" in flags)
