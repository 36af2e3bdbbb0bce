"""The bAbI stream (tokens, memory order, vocabularies, scenarios) and the MemN2N backbone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import lifelong
from lifelong.data.babi import parse_task_text, write_dataset
from lifelong.errors import OptionError
from lifelong.models.memn2n import MemN2N, position_encoding
from lifelong.streams.babi import examples_of, words
from lifelong.streams.scenario import Scenario


def test_words_and_memory_order() -> None:
    story = parse_task_text("1 Mary moved to the bathroom.\n2 John went to the hallway.\n"
                            "3 Where is Mary? \tbathroom\t1\n4 Mary went to the garden.\n"
                            "5 Where is Mary? \tgarden\t4\n", "inline")
    first, second = examples_of(story, memory=2)
    assert words("Where is Mary?") == ["where", "is", "mary"]
    assert first.memory == (("john", "went", "to", "the", "hallway"), ("mary", "moved", "to", "the", "bathroom"))
    assert second.memory[0] == ("mary", "went", "to", "the", "garden") and len(second.memory) == 2
    assert (first.answer, second.answer) == ("bathroom", "garden")


def test_domain_stream_shares_one_answer_head() -> None:
    stream = lifelong.streams.babi(tasks=(1, 6), examples=50, test_examples=20)
    assert stream.scenario is Scenario.DOMAIN and stream.vocab > 10
    assert stream[0].classes == stream[1].classes  # one shared answer vocabulary
    assert [len(t.train) for t in stream] == [50, 50] and [len(t.test) for t in stream] == [20, 20]
    x = stream[0].inputs(stream[0].train.x)
    assert x.dtype == torch.long and tuple(x.shape[1:]) == stream.input_shape
    assert bool((x[:, -1] != 0).any(1).all())  # every example has a question row
    assert len(stream[0].classes) == stream.params["answers"] == 6 + 2  # six rooms, yes, no


def test_task_stream_has_a_head_per_task_over_its_answers() -> None:
    stream = lifelong.streams.babi(tasks=(6, 1), examples=40, test_examples=10, scenario="task")
    assert len(stream[0].classes) == 2  # yes / no
    assert len(stream[1].classes) == 6  # the six rooms
    assert int(stream[0].train.y.max()) <= 1


def test_reading_the_released_layout(tmp_path: Path) -> None:
    write_dataset(tmp_path, "en", seed=3, task_ids=[2])
    stream = lifelong.streams.babi(tasks=(2,), root=str(tmp_path))
    assert len(stream[0].train) == 1000 and len(stream[0].test) == 1000


def test_position_encoding_closed_form() -> None:
    enc = position_encoding(4, 3)
    j, k = 2, 3  # 1-based
    assert enc[j - 1, k - 1] == pytest.approx((1 - j / 4) - (k / 3) * (1 - 2 * j / 4))


def test_memn2n_ignores_padding_and_uses_order() -> None:
    torch.manual_seed(0)
    model = MemN2N(vocab=20, memory=4, sentence_length=3, dim=8, hops=2)
    x = torch.zeros(2, 5, 3, dtype=torch.long)
    x[:, 0] = torch.tensor([1, 2, 3])
    x[:, 1] = torch.tensor([4, 5, 0])
    x[:, 4] = torch.tensor([6, 7, 0])
    out = model(x)
    assert torch.allclose(out[0], out[1])
    swapped = x.clone()
    swapped[:, [0, 1]] = x[:, [1, 0]]
    assert not torch.allclose(model(swapped), out)  # temporal encoding: order matters
    bigger = MemN2N(vocab=20, memory=6, sentence_length=3, dim=8, hops=2)
    small = model.state_dict()
    bigger.load_state_dict({k: (small[k] if v.shape[0] != 6 else torch.cat([small[k], v[4:]]))
                            for k, v in bigger.state_dict().items()})
    padded = torch.cat([x[:, :4], torch.zeros(2, 2, 3, dtype=torch.long), x[:, 4:]], dim=1)
    assert torch.allclose(bigger(padded), out, atol=1e-6)  # empty slots change nothing


def _memn2n_word_by_word(model: MemN2N, x: torch.Tensor, linear: bool = False,
                         times: torch.Tensor | None = None, empty: bool = False) -> torch.Tensor:
    """The paper's equations looked up word by word (Sec. 2.1, 2.2, 4.1): the reference of the fast forward.
    ``linear``: LS's p_i = u^T m_i (no softmax); ``times``: each slot's temporal row (RN), else slot i's own;
    ``empty``: the authors' memory, every slot in the softmax, an empty one holding m_i = c_i = 0 (nil words, no
    time word)."""
    story, question = x[:, :-1].long(), x[:, -1].long()
    present = (story != 0).any(-1)
    enc = model.get_buffer("encoding")
    u = (model.embed[0](question) * enc).sum(1)
    for k in range(model.hops):
        t_a, t_c = (model.temporal[k], model.temporal[k + 1]) if times is None else \
            (model.temporal[k][times], model.temporal[k + 1][times])
        m = (model.embed[k](story) * enc).sum(2) + t_a
        c = (model.embed[k + 1](story) * enc).sum(2) + t_c
        scores = (m @ u.unsqueeze(2)).squeeze(2)
        if linear:
            p = scores * present
        elif empty:
            p = torch.softmax(scores * present, 1) * present  # an empty slot's score u . 0 = 0; its c_i = 0
        else:
            p = torch.softmax(scores.masked_fill(~present, float("-inf")), 1).nan_to_num(0.0)
        u = u + (p.unsqueeze(2) * c).sum(1)
    return u


def _stories(n: int, memory: int, length: int, vocab: int) -> torch.Tensor:
    x = torch.randint(1, vocab, (n, memory + 1, length), dtype=torch.int32)
    for row, size in enumerate(torch.randint(0, memory, (n,)).tolist()):
        x[row, size:memory] = 0  # stories of 0..memory-1 sentences, most recent first, padded at the end
    return x


def test_linear_start_drops_the_softmax_over_memories() -> None:
    """LS (Sec. 4.2): with ``linear_start`` the hops are u + sum_i (u . m_i) c_i, the word-by-word equations
    without the softmax; switched off, the softmax is back."""
    torch.manual_seed(0)
    model = MemN2N(vocab=30, memory=8, sentence_length=5, dim=6, hops=3)
    x = _stories(16, 8, 5, 30)
    softmax = model(x)
    model.linear_start = True
    assert torch.allclose(model(x), _memn2n_word_by_word(model, x, linear=True), atol=1e-5)
    assert not torch.allclose(model(x), softmax, atol=1e-3)
    model.linear_start = False
    assert torch.allclose(model(x), _memn2n_word_by_word(model, x), atol=1e-6)


def test_empty_slots_weigh_in_the_softmax_as_in_the_authors_code() -> None:
    """``-empty`` (MemN2N-babi-matlab: the memory holds config.sz slots, the unfilled ones nil words with
    embedding 0): each of the M - n empty slots enters the softmax with score 0 and adds nothing to o. The fast
    forward, which cuts the batch to its longest story, equals that M-slot softmax; without the flag the
    empty slots get no weight at all, a different output."""
    torch.manual_seed(0)
    model = MemN2N(vocab=30, memory=8, sentence_length=5, dim=6, hops=3, empty_slots=True)
    x = _stories(16, 8, 5, 30)
    x[0, :8] = torch.randint(1, 30, (8, 5))  # one full memory: no empty slot, the masked softmax's answer
    assert torch.allclose(model(x), _memn2n_word_by_word(model, x, empty=True), atol=1e-6)
    masked = _memn2n_word_by_word(model, x)
    assert torch.allclose(model(x)[0], masked[0], atol=1e-6)
    assert not torch.allclose(model(x)[1:], masked[1:], atol=1e-3)


def test_random_noise_draws_sorted_time_indices_with_up_to_ten_percent_blanks() -> None:
    """RN (Sec. 4.1; the authors' randomize_time = 0.1): a story of n = 10 sentences gets 10 distinct, increasing
    time indices out of 0..n + b - 1 with b uniform on {0, 1}, so the last is 10 with probability
    1/2 * 10/11 and the first is never above 1; the forward uses exactly these rows of T_A and T_C, in
    training only."""
    torch.manual_seed(0)
    model = MemN2N(vocab=30, memory=12, sentence_length=4, dim=6, hops=2, time_noise=0.1)
    present = torch.zeros(20000, 12, dtype=torch.bool)
    present[:, :10] = True
    times = model.noisy_time(present)[:, :10]
    assert bool((times.diff(dim=1) > 0).all()) and int(times.min()) == 0 and int(times.max()) == 10
    assert float((times[:, -1] == 10).float().mean()) == pytest.approx(0.5 * 10 / 11, abs=0.015)
    assert int(times[:, 0].max()) == 1
    assert float((times[:, 0] == 1).float().mean()) == pytest.approx(0.5 * 1 / 11, abs=0.008)
    x = _stories(16, 12, 4, 30)
    model.train()
    torch.manual_seed(5)
    noisy = model(x)
    torch.manual_seed(5)
    slots = int((x[:, :-1] != 0).any(-1).sum(1).max())
    drawn = model.noisy_time((x[:, :-1] != 0).any(-1)[:, :slots])
    expected = _memn2n_word_by_word(model, x[:, [*range(slots), 12]], times=drawn)
    assert torch.allclose(noisy, expected, atol=1e-5)
    model.eval()
    assert torch.allclose(model(x), _memn2n_word_by_word(model, x), atol=1e-6)  # no noise at evaluation


def test_memn2n_size_names_random_noise() -> None:
    from lifelong.models.backbones import build_backbone

    assert build_backbone("memn2n-3x20-rn", (51, 7), vocab=30).time_noise == 0.1
    assert build_backbone("memn2n-rn", (51, 7), vocab=30).out_features == 20
    assert build_backbone("memn2n-2x8", (51, 7), vocab=30).time_noise == 0.0
    with pytest.raises(ValueError, match="bad memn2n size '3x20-xy'"):
        build_backbone("memn2n-3x20-xy", (51, 7), vocab=30)
    assert build_backbone("memn2n-3x20-rn-tied", (51, 7), vocab=30).tied_answers
    assert not build_backbone("memn2n-3x20-rn", (51, 7), vocab=30).tied_answers
    assert build_backbone("memn2n-3x20-empty-rn-tied", (51, 7), vocab=30).empty_slots
    assert not build_backbone("memn2n-3x20-rn-tied", (51, 7), vocab=30).empty_slots
    with pytest.raises(ValueError, match="bad memn2n size 'tied-rn'"):
        build_backbone("memn2n-tied-rn", (51, 7), vocab=30)


def test_tied_answer_layer_is_the_last_output_embedding() -> None:
    """W^T = C^K (Sec. 2.2): the tied model equals an untied one whose head holds C^K's rows of the answer
    words (no bias), and C^K's gradient is the untied model's C^K gradient plus its head-weight gradient
    added into those rows. Answers that are no story word ("yes", "no") have rows of their own."""
    stream = lifelong.streams.babi(tasks=(2, 6), examples=40, test_examples=10)
    tokens = torch.tensor(stream.answer_tokens)
    assert len(tokens) == stream.n_classes and int((tokens == 0).sum()) == 2  # yes, no
    tied = lifelong.api.build_learner("memn2n-3x20-tied", stream, seed=0).eval()
    untied = lifelong.api.build_learner("memn2n-3x20", stream, seed=1).eval()
    untied.backbone.load_state_dict(tied.backbone.state_dict())
    own = tied.head.linear.own
    with torch.no_grad():
        untied.head.linear.weight[tokens > 0] = tied.backbone.answer_embedding()[tokens[tokens > 0]]
        untied.head.linear.weight[tokens == 0] = own
        untied.head.linear.bias.zero_()
    x, y = stream.tasks[0].train.x, stream.tasks[0].train.y
    ids = torch.zeros(len(x), dtype=torch.long)
    assert torch.allclose(tied(x, ids), untied(x, ids), atol=1e-6)
    c_k = tied.backbone.answer_embedding()
    (g_tied,) = torch.autograd.grad(tied.loss(tied(x, ids), y), [c_k])
    c_untied, w = untied.backbone.answer_embedding(), untied.head.linear.weight
    g_c, g_w = torch.autograd.grad(untied.loss(untied(x, ids), y), [c_untied, w])
    expected = g_c.index_add(0, tokens[tokens > 0], g_w[tokens > 0])
    assert torch.allclose(g_tied, expected, atol=1e-6)
    assert not torch.allclose(g_tied, g_c, atol=1e-4)  # the answer layer's share is really there


def test_answer_tokens_are_the_answers_input_words() -> None:
    """Task 1's answer is always the place named in its supporting fact, so its token is in the story."""
    stream = lifelong.streams.babi(tasks=(1,), examples=100, test_examples=10)
    tokens = torch.tensor(stream.answer_tokens)[stream.tasks[0].train.y]
    stories = stream.tasks[0].train.x[:, :-1].flatten(1)
    assert bool((stories == tokens.unsqueeze(1)).any(1).all())


def test_tied_answer_heads_per_task_read_their_own_answers() -> None:
    """Task-incremental: head t's output i is C^K's row of task t's i-th answer."""
    stream = lifelong.streams.babi(tasks=(1, 2), examples=40, test_examples=10, scenario="task")
    learner = lifelong.api.build_learner("memn2n-3x20-tied", stream, seed=0).eval()
    x = stream.tasks[1].train.x[:5]
    features = learner.features(x)
    rows = torch.tensor([stream.answer_tokens[c] for c in stream.tasks[1].classes])
    expected = features @ learner.backbone.answer_embedding()[rows].T
    assert torch.allclose(learner(x, torch.ones(5, dtype=torch.long)), expected, atol=1e-6)


def test_tied_answers_need_answers_that_are_words() -> None:
    stream = dataclasses.replace(lifelong.streams.babi(tasks=(1,), examples=20, test_examples=10), answer_tokens=())
    with pytest.raises(OptionError, match="^--model memn2n-tied: the tied answer layer needs a stream whose answers"):
        lifelong.api.build_learner("memn2n-tied", stream, seed=0)


def test_memn2n_forward_and_gradients_equal_the_word_by_word_equations() -> None:
    """The weighted-bag forward (no (N, M, J, d) tensor, stories cut to the batch's longest) computes the
    word-by-word equations: the same outputs and parameter gradients to float32 rounding, and the padding
    word's embedding gets no gradient."""
    torch.manual_seed(0)
    model = MemN2N(vocab=40, memory=10, sentence_length=6, dim=8, hops=3)
    x = torch.randint(1, 40, (32, 11, 6), dtype=torch.int32)
    for n, length in enumerate(torch.randint(0, 8, (32,)).tolist()):
        x[n, length:10] = 0  # stories of 0..7 sentences, most recent first, padded at the end
    x[:, :, 4:] *= torch.rand(32, 11, 2) < 0.5  # sentences of 4..6 words
    fast, slow = model(x), _memn2n_word_by_word(model, x)
    assert torch.allclose(fast, slow, atol=1e-6)
    grads = [torch.autograd.grad(out.square().sum(), list(model.parameters())) for out in (fast, slow)]
    for g_fast, g_slow in zip(*grads, strict=True):
        assert torch.allclose(g_fast, g_slow, atol=1e-5)
    assert all(float(g[0].abs().max()) == 0.0 for g in grads[0][:model.hops + 1])  # the padding rows


def test_memn2n_learns_single_supporting_fact() -> None:
    stream = lifelong.streams.babi(tasks=(1,), examples=1000, test_examples=200)
    result = lifelong.run(stream, "finetune", seed=0)  # the stream's suited training: Adam, 20 epochs
    assert result.config["model"] == "memn2n"  # the stream's suited model
    assert result.matrix.values[1, 0] > 0.9


@pytest.mark.parametrize("method", ["ewc", "er"])
def test_methods_of_other_families_run_on_babi_unchanged(method: str) -> None:
    stream = lifelong.streams.babi(tasks=(1, 6), examples=60, test_examples=30)
    result = lifelong.run(stream, method, epochs=2, seed=0)
    assert result.matrix.values.shape == (3, 2) and result.config["method"] == method
    assert result.method_bytes > 0  # the method really kept state (anchors and importances, or a memory)
