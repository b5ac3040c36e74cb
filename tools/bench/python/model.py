"""The reference net of tools/bench in numpy: 100 -> 64 relu -> 64 relu -> 10 softmax, seeded
random weights (Glorot uniform), float32 - the same arithmetic as every other peer."""
import numpy as np

CLASS_NAMES = [f"class{i}" for i in range(10)]


class ReferenceNet:
    def __init__(self, seed: int = 1):
        rng = np.random.default_rng(seed)
        sizes = [100, 64, 64, 10]
        self.layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)
            self.layers.append((w, np.zeros(fan_out, dtype=np.float32)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                np.maximum(x, 0, out=x)
        x = x - x.max(axis=1, keepdims=True)
        np.exp(x, out=x)
        return x / x.sum(axis=1, keepdims=True)

    def predict_classes(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x).argmax(axis=1)
