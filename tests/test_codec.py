import pytest
import torch

from lerobot_actioncodec.codec.architecture import CodecArchitecture
from lerobot_actioncodec.codec.embeddings import FourierTimeEmbedding, chunk_timestamps
from lerobot_actioncodec.codec.model import ActionCodecNet
from lerobot_actioncodec.codec.perceiver import PerceiverEncoder, causal_mask

ARCH = dict(max_action_dim=5, num_embodiments=2, num_tokens=4, codebook_size=32, codebook_dim=8, dim=32, num_heads=2,
            encoder_layers=1, decoder_layers=1, num_prompt_tokens=2, fourier_bands=4, kmeans_init=False)  # fmt: skip


@pytest.mark.parametrize("levels", [1, 3])
def test_forward_shapes(levels):
    net = ActionCodecNet(CodecArchitecture(**ARCH, rvq_levels=levels)).eval()
    out = net(torch.randn(6, 12, 5), fps=12, embodiment_index=1)
    assert out.reconstruction.shape == (6, 12, 5)
    assert out.latents.shape == out.quantized.shape == (6, 4, 32)
    assert out.indices.shape == (6, levels, 4) and out.indices.dtype == torch.long
    decoded = net.decode_indices(out.indices, 12, 12, 1)
    assert torch.allclose(decoded, out.reconstruction, atol=1e-5)


def test_timestamps_are_in_seconds_so_rates_share_positions():
    emb = FourierTimeEmbedding(8, num_bands=4)
    t20, t30 = chunk_timestamps(20, 20.0), chunk_timestamps(30, 30.0)
    assert torch.allclose(emb(t20)[10], emb(t30)[15])  # both are t = 0.5 s


def test_causal_mask_hand_computed():
    expected = torch.tensor([[False, True, True], [False, False, True], [False, False, False]])
    assert torch.equal(causal_mask(3), expected)


def _token_jacobian_pattern(mixing: str) -> torch.Tensor:
    """[n, n] True where output token i depends on the (perturbed) query slot j."""
    torch.manual_seed(0)
    # training mode (dropout is 0) avoids the fused eval kernel, whose rounding differs at ~1e-6
    enc = PerceiverEncoder(16, num_queries=3, num_layers=1, num_heads=2, token_mixing=mixing).train()
    context = torch.randn(1, 5, 16)
    base = enc(context)
    pattern = torch.zeros(3, 3, dtype=torch.bool)
    original = enc.queries.detach().clone()
    for j in range(3):
        with torch.no_grad():
            enc.queries[j] += torch.randn(16)
            pattern[:, j] = (enc(context) - base).abs().sum(-1)[0] > 1e-5
            enc.queries.copy_(original)
    return pattern


def test_token_mixing_dependency_structure():
    assert torch.equal(_token_jacobian_pattern("independent"), torch.eye(3, dtype=torch.bool))
    assert torch.equal(_token_jacobian_pattern("causal"), torch.ones(3, 3, dtype=torch.bool).tril())
    assert _token_jacobian_pattern("self_attention").all()


def test_bad_token_mixing():
    with pytest.raises(ValueError, match="token_mixing"):
        PerceiverEncoder(16, 3, 1, 2, token_mixing="bidirectional")


def test_frozen_first_level_keeps_codebook_and_encoder():
    net = ActionCodecNet(CodecArchitecture(**ARCH, rvq_levels=3))
    net.freeze_encoder_and_first_level()
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items() if "levels.0." in k or k.startswith("encoder.")}
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        out = net(torch.randn(8, 12, 5), 12, 0)
        loss = out.reconstruction.abs().mean() + out.vq_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = net.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert not net.quantizer.levels[0].training and net.quantizer.levels[1].training
