"""The cheat sheet's models as runnable examples (``fastgrad list`` / ``fastgrad train NAME``)."""

from __future__ import annotations

from collections import OrderedDict

from .classification import binary, digits_cnn
from .regression import experiment, housing, oscillator, waveform

MODELS = OrderedDict(
    [
        ("housing", (housing, "house price from [sqft, bedrooms, year_built]; MLP 3→64→1 ReLU")),
        ("oscillator", (oscillator, "x(t) = A e^{-βt} cos(ωt+δ) from t; MLP 1→32→1 tanh")),
        ("waveform", (waveform, "[A, β, ω, δ] → x(t) at T=50 times; MLP 4→64→T tanh")),
        ("experiment", (experiment, "env vars → measured signal(t); MLP p→128→64→m GELU, weights ω and α")),
        ("binary", (binary, "two spirals, one logit, BCE with logits; MLP 2→32→32→1")),
        ("digits_cnn", (digits_cnn, "CNN on sklearn 8×8 digits; conv→ReLU→pool ×2 + head")),
    ]
)

__all__ = ["MODELS", "housing", "oscillator", "waveform", "experiment", "binary", "digits_cnn"]
