"""What FSDP shards as one unit. With `fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP` and no
`fsdp_transformer_layer_cls_to_wrap`, accelerate wraps the classes the model lists in `_no_split_modules`, and
LeRobot hands accelerate the policy itself; so each policy type lists its repeated blocks there."""

from torch import nn
from transformers import PreTrainedModel


def transformer_block_names(module: nn.Module) -> list[str]:
    """The repeated-block classes of every transformers model inside `module` (SmolVLM's vision attention and its
    Llama text layers, the compact backbone's and the action expert's Llama layers). A composite model can list a
    class it does not contain (SmolVLM lists SmolVLMDecoderLayer, its text model builds LlamaDecoderLayer), which
    accelerate rejects, so only classes present in `module` are kept."""
    present = {type(sub).__name__ for sub in module.modules()}
    listed = {
        name
        for sub in module.modules()
        if isinstance(sub, PreTrainedModel)
        for name in (getattr(sub, "_no_split_modules", None) or [])
    }
    return sorted(listed & present)
