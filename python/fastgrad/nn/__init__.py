"""fastgrad.nn — PyTorch-style layers, containers, initialisers and losses.

``import fastgrad.nn as nn``; ``nn.functional`` (``F``) has every layer as a function.
"""

from __future__ import annotations

from . import functional, init, interop
from . import functional as F  # noqa: N812
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .attention import MultiheadAttention
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .embedding import Embedding
from .fuse import fuse
from .interop import conv_weight_to_channels_first, conv_weight_to_channels_last
from .linear import Flatten, Identity, Linear
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .norm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
)
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    GlobalAvgPool,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from .recurrent import GRU, LSTM
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "functional",
    "F",
    "init",
    "interop",
    "Module",
    "Parameter",
    "Sequential",
    "fuse",
    "ModuleList",
    "Linear",
    "Identity",
    "Flatten",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "GlobalAvgPool",
    "Dropout",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "Embedding",
    "MultiheadAttention",
    "LSTM",
    "GRU",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "GELU",
    "SiLU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "LeakyReLU",
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "BCEWithLogitsLoss",
    "BCELoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "conv_weight_to_channels_last",
    "conv_weight_to_channels_first",
]
