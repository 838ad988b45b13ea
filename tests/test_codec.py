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


def test_attention_computes_what_multihead_attention_computes():
    """The fused path reads nn.MultiheadAttention's weights (the checkpoint format) and must give its result."""
    from lerobot_actioncodec.codec.perceiver import Attention

    torch.manual_seed(0)
    attention = Attention(32, 4).eval()
    x, context = torch.randn(2, 5, 32), torch.randn(2, 7, 32)

    def reference(x, context=None, attn_mask=None):
        q = attention.norm_q(x)
        kv = q if context is None else attention.norm_kv(context)
        return x + attention.attn(q, kv, kv, attn_mask=attn_mask, need_weights=False)[0]

    for args in ((x, context, None), (x, None, None), (x, None, causal_mask(5))):
        torch.testing.assert_close(attention(*args), reference(*args))


def test_inference_lookup_gives_the_codes_of_the_quantizer_forward():
    from lerobot_actioncodec.codec.quantizers import ResidualActionQuantizer

    torch.manual_seed(0)
    quantizer = ResidualActionQuantizer(32, 64, 8, levels=3)
    quantizer(torch.randn(16, 4, 32), depth=3)  # training mode: k-means init and EMA updates
    quantizer.eval()
    x = torch.randn(5, 4, 32)
    full = quantizer(x, depth=3)  # grad enabled: VectorQuantize's own forward
    with torch.no_grad():
        fast = quantizer(x, depth=3)
    assert torch.equal(full.indices, fast.indices)
    torch.testing.assert_close(full.quantized, fast.quantized)
    torch.testing.assert_close(quantizer.dequantize(fast.indices), fast.quantized)  # what decode reads back


def test_code_distance_is_smallest_at_the_codes_the_lookup_picks():
    from lerobot_actioncodec.codec.quantizers import ResidualActionQuantizer

    torch.manual_seed(0)
    quantizer = ResidualActionQuantizer(32, 64, 8)
    quantizer(torch.randn(16, 4, 32))  # k-means init
    quantizer.eval()
    x = torch.randn(5, 4, 32)
    with torch.no_grad():
        own = quantizer(x).indices[:, 0]
    assert (quantizer.code_distance(x, own) <= quantizer.code_distance(x, (own + 1) % 64)).all()
    x.requires_grad_(True)
    quantizer.code_distance(x, own).mean().backward()
    assert x.grad.abs().sum() > 0  # pulls the latents, never the (stopped) codes


def test_each_residual_level_brings_the_codes_closer_to_the_latents():
    """Residuals are taken in level 0's lookup space, where its codes are close to the latents: each level must
    shrink the distance to what level 0 approximates (project_out of the projected latents)."""
    from lerobot_actioncodec.codec.quantizers import ResidualActionQuantizer

    torch.manual_seed(0)
    quantizer = ResidualActionQuantizer(32, 64, 8, levels=3)
    x = torch.randn(256, 4, 32)
    quantizer(x, depth=3)  # training mode: k-means init of every level on its residuals
    quantizer.eval()
    with torch.no_grad():
        indices = quantizer(x, depth=3).indices
        first = quantizer.levels[0]
        target = first.project_out(first.project_in(x))
        errors = [(quantizer.dequantize(indices[:, :depth]) - target).norm(dim=-1).mean() for depth in (1, 2, 3)]
    assert errors[1] < 0.8 * errors[0] and errors[2] < 0.8 * errors[1], errors
