"""fastgrad.nn — PyTorch-style layers, containers, initialisers and losses.

``import fastgrad.nn as nn``; ``nn.functional`` (``F``) has every layer as a function.
"""

from __future__ import annotations

from . import functional, init, interop
from . import functional as F  # noqa: N812
from .activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .attention import MultiheadAttention
from .conv import Conv1d, Conv2d, Conv3d
from .dropout import Dropout
from .embedding import Embedding
from .fuse import fuse
from .interop import conv_weight_to_channels_first, conv_weight_to_channels_last
from .linear import Flatten, Identity, Linear
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
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
)
from .recurrent import GRU, LSTM

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
    "ELU",
    "SELU",
    "CELU",
    "Mish",
    "Hardswish",
    "Hardsigmoid",
    "Hardtanh",
    "ReLU6",
    "Softsign",
    "LogSigmoid",
    "Threshold",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
    "GLU",
    "Softmin",
    "PReLU",
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
