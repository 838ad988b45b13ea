import torch
from PIL import Image

from lerobot_actioncodec.evaluation import TokenizedChunks
from lerobot_actioncodec.report import example_indices, plot_tokenizer_report


def test_example_indices_spread_over_the_chunks():
    assert example_indices(100, 3) == [0, 49, 99]
    assert example_indices(2, 3) == [0, 1]


def test_report_png_is_written_for_vq_and_rvq_tokens(tmp_path):
    chunks = torch.randn(12, 10, 3)
    for name, tokens in (("vq", torch.randint(0, 64, (12, 4))), ("rvq", torch.randint(0, 64, (12, 2, 4)))):
        tokenized = TokenizedChunks(chunks, chunks, tokens, tokens, chunks + 0.1)
        path = plot_tokenizer_report(tokenized, 64, tmp_path / f"{name}.png", fps=10, action_names=["a", "b", "c"],
                                     metrics={"overlap_rate": 0.5})  # fmt: skip
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 800 and image.height > 500
