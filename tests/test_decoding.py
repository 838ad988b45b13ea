import torch

from lerobot_actioncodec.decoding import choose_tokens


def test_greedy_is_argmax():
    logits = torch.tensor([[0.1, 3.0, -1.0], [2.0, 0.0, 1.0]])
    assert choose_tokens(logits).tolist() == [1, 0]


def test_top_k_sampling_stays_among_the_k_best():
    torch.manual_seed(0)
    logits = torch.tensor([[5.0, 4.9, 0.0, -1.0, 4.8]]).expand(500, 5)
    picks = choose_tokens(logits, temperature=5.0, top_k=2)
    assert set(picks.tolist()) == {0, 1}
    assert set(choose_tokens(logits, temperature=5.0).tolist()) == {0, 1, 2, 3, 4}  # no top-k: all reachable
