"""Training many linear models at once with torch on the CPU.

All models share one weights tensor ``W`` of shape [num_models, feature_dim, outputs] and a bias
[num_models, outputs]; a mini-batch is scored for every model with one matrix product. Each model has
its own learning rate, L2 (``wd``), L1 and positive-example weight (``ModelGrid``). The optimizers are
written out here, vectorised over the models (torch.optim has one learning rate per parameter group):
sgd with momentum, adam, rmsprop and adagrad. L2 is added to the gradient (weight decay); L1 is a
proximal soft-threshold with the step size the optimizer used for each coordinate, which gives exact
zeros. The objective a model minimises is ``mean(loss) + wd/2 * |w|^2 + l1 * |w|_1``.

After every epoch each model's mean loss on the monitored data (validation, or train if absent) is
computed; each model keeps a snapshot of its best epoch, and training stops early when the best model's
loss has not improved by the relative ``early_stopping_tolerance`` for ``early_stopping_patience``
epochs. A model whose loss is not finite is dropped (its learning rate too high).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from linear_learner_params import BINARY, MULTICLASS, Settings

from mlops.contract import AlgorithmError

# Power of the label scale in each loss: training in normalised label units divides the loss by scale**p.
SCALE_POWER = {
    "squared_loss": 2,
    "eps_insensitive_squared_loss": 2,
    "huber_loss": 2,
    "absolute_loss": 1,
    "eps_insensitive_absolute_loss": 1,
    "quantile_loss": 1,
}
EVAL_ROWS = 8192
PLATEAU_FACTOR, PLATEAU_EPOCHS = 0.5, 2


class Loss:
    """Per-example losses in normalised label units, reported in the label's own units."""

    def __init__(
        self,
        settings: Settings,
        label_shift: float = 0.0,
        label_scale: float = 1.0,
        class_weights: np.ndarray | None = None,
    ) -> None:
        self.kind = settings.loss
        self.settings = settings
        self.shift, self.scale = label_shift, label_scale
        self.factor = label_scale ** SCALE_POWER.get(self.kind, 0)
        self.class_weights = (
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        )

    def per_example(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z: scores [B, M, K]; y: labels [B] (normalised for regression). Returns [B, M]."""
        s = self.settings
        if self.kind == "softmax_loss":
            index = y.long()[:, None, None].expand(-1, z.shape[1], 1)
            return -torch.log_softmax(z, dim=2).gather(2, index)[..., 0]
        z = z[..., 0]
        target = y[:, None].expand_as(z)
        if self.kind == "logistic":
            return F.binary_cross_entropy_with_logits(z, target, reduction="none")
        if self.kind == "hinge_loss":
            return torch.relu(s.margin - (2 * target - 1) * z)
        r = target - z
        if self.kind == "squared_loss":
            return r * r
        if self.kind == "absolute_loss":
            return r.abs()
        if self.kind == "eps_insensitive_squared_loss":
            return torch.relu(r.abs() - s.loss_insensitivity / self.scale) ** 2
        if self.kind == "eps_insensitive_absolute_loss":
            return torch.relu(r.abs() - s.loss_insensitivity / self.scale)
        if self.kind == "quantile_loss":
            return torch.maximum(s.quantile * r, (s.quantile - 1) * r)
        if self.kind == "huber_loss":
            delta = s.huber_delta / self.scale
            a = r.abs()
            return torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
        raise AlgorithmError(f"unknown loss {self.kind}")

    def example_weights(self, y: torch.Tensor, positive_weight: torch.Tensor) -> torch.Tensor | None:
        if self.settings.predictor_type == BINARY:
            return torch.where(
                y[:, None] == 1, positive_weight[None, :], torch.ones_like(positive_weight)[None, :]
            )
        if self.class_weights is not None:
            return self.class_weights[y.long()][:, None]
        return None

    def on_original(self, raw_scores: np.ndarray, labels: np.ndarray) -> float:
        """Mean loss of one model's raw scores [n, K] (label units for a regressor), in label units."""
        z = torch.as_tensor((raw_scores - self.shift) / self.scale, dtype=torch.float32)[:, None, :]
        y = torch.as_tensor((labels - self.shift) / self.scale, dtype=torch.float32)
        return float(self.per_example(z, y).double().mean()) * self.factor


@dataclass
class Data:
    """Normalised features (dense float32 ndarray or scipy CSR) and labels (normalised for regression)."""

    X: Any
    y: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.X.shape[0])

    def batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.from_numpy(self.y[index])
        if isinstance(self.X, np.ndarray):
            return torch.from_numpy(self.X[index]), y
        part = self.X[index].tocoo()
        indices = torch.from_numpy(np.vstack([part.row, part.col]).astype(np.int64))
        values = torch.from_numpy(part.data.astype(np.float32))
        return torch.sparse_coo_tensor(
            indices, values, part.shape, check_invariants=False, is_coalesced=True
        ), y


@dataclass
class TrainResult:
    weights: np.ndarray  # [M, d, K] each model's best snapshot
    bias: np.ndarray  # [M, K]
    best_loss: np.ndarray  # [M] monitored loss (label units) at the snapshot; inf for dropped models
    best_epoch: np.ndarray  # [M]
    epochs_run: int


class Optimizer:
    """sgd / adam / rmsprop / adagrad over [M, ...] parameters with a learning rate per model."""

    def __init__(self, kind: str, settings: Settings, params: list[torch.Tensor]) -> None:
        self.kind, self.s = kind, settings
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        self.t = 0

    def reset(self, models: torch.Tensor) -> None:
        for m, v in self.state:
            m[models], v[models] = 0.0, 0.0

    def step(
        self, params: list[torch.Tensor], grads: list[torch.Tensor], lrs: list[torch.Tensor]
    ) -> list[torch.Tensor]:
        """Updates params in place; returns each parameter's per-coordinate step size (for the L1 step)."""
        self.t += 1
        s, steps = self.s, []
        for p, g, lr, (m, v) in zip(params, grads, lrs, self.state, strict=True):
            if self.kind == "sgd":
                m.mul_(s.momentum).add_(g)
                p.sub_(lr * m)
                steps.append(lr.expand_as(p))
                continue
            if self.kind == "adam":
                m.mul_(s.beta_1).add_(g, alpha=1 - s.beta_1)
                v.mul_(s.beta_2).addcmul_(g, g, value=1 - s.beta_2)
                denominator = (v / (1 - s.beta_2**self.t)).sqrt_().add_(1e-8)
                step = lr / (1 - s.beta_1**self.t) / denominator
                p.sub_(step * m)
            else:
                if self.kind == "rmsprop":
                    v.mul_(0.99).addcmul_(g, g, value=0.01)
                else:  # adagrad
                    v.addcmul_(g, g)
                step = lr / v.sqrt().add_(1e-8)
                p.sub_(step * g)
            steps.append(step)
        return steps


class Schedule:
    """Each model's learning rate over time.

    With ``lr_scheduler_step`` or ``lr_scheduler_factor`` set, a step schedule: the rate is multiplied by
    the factor every ``step`` updates (auto step: one epoch; auto factor: a tenth by the last epoch). With
    both auto (the default), a plateau schedule: a model's rate is halved after every epoch once its
    monitored loss has not improved for two epochs. Either way never below ``lr_scheduler_minimum_lr``
    (auto: a hundredth of the model's initial rate); constant when ``use_lr_scheduler`` is false.
    """

    def __init__(self, settings: Settings, lr0: torch.Tensor, batches_per_epoch: int) -> None:
        self.lr0, self.plateau = lr0, torch.ones_like(lr0)
        self.stale = np.zeros(lr0.numel(), dtype=np.int64)
        self.step, self.factor, self.by_plateau = 1, 1.0, False
        if settings.use_lr_scheduler:
            self.by_plateau = settings.lr_scheduler_step is None and settings.lr_scheduler_factor is None
            self.step = settings.lr_scheduler_step or batches_per_epoch
            factor = settings.lr_scheduler_factor
            if factor is None:
                factor = 0.1 ** (1.0 / max(1, (settings.epochs * batches_per_epoch) // self.step - 1))
            self.factor = 1.0 if self.by_plateau else factor
        minimum = settings.lr_scheduler_minimum_lr
        self.minimum = lr0 * 0.01 if minimum is None else torch.full_like(lr0, minimum)

    def rate(self, update: int) -> torch.Tensor:
        decay = self.factor ** (update // self.step)
        return torch.maximum(self.lr0 * decay * self.plateau, self.minimum)

    def end_epoch(self, improved: np.ndarray) -> None:
        self.stale = np.where(improved, 0, self.stale + 1)
        if self.by_plateau:
            self.plateau[torch.from_numpy(self.stale >= PLATEAU_EPOCHS)] *= PLATEAU_FACTOR


class EarlyStopping:
    """Stops after ``patience`` epochs without a relative improvement above ``tolerance``.

    An improvement below the tolerance counts as none and leaves the best loss as it was, so that slow
    but steady progress adds up and resets the patience once it is large enough.
    """

    def __init__(self, patience: int, tolerance: float) -> None:
        self.patience, self.tolerance = patience, tolerance
        self.best, self.stale = math.inf, 0

    def should_stop(self, loss: float) -> bool:
        if not math.isfinite(self.best) or self.best - loss > self.tolerance * abs(self.best):
            self.best, self.stale = loss, 0
            return False
        self.stale += 1
        return self.stale >= self.patience


class Trainer:
    def __init__(
        self, settings: Settings, loss: Loss, feature_dim: int, positive_weights: np.ndarray
    ) -> None:
        self.s, self.loss, self.d = settings, loss, feature_dim
        grid = settings.grid
        self.M, self.K = len(grid), settings.outputs
        generator = torch.Generator().manual_seed(settings.seed)
        shape = (self.M, feature_dim, self.K)
        if settings.init_method == "normal":
            W = torch.randn(shape, generator=generator) * settings.init_sigma
        else:
            W = (torch.rand(shape, generator=generator) * 2 - 1) * settings.init_scale
        self.W = W
        self.b = torch.full((self.M, self.K), settings.init_bias if settings.use_bias else 0.0)
        self.lr0 = torch.tensor(grid.learning_rate, dtype=torch.float32)
        self.wd = torch.tensor(grid.wd, dtype=torch.float32)
        self.l1 = torch.tensor(grid.l1, dtype=torch.float32)
        self.positive_weight = torch.as_tensor(positive_weights, dtype=torch.float32)
        self.alive = torch.ones(self.M, dtype=torch.bool)

    def forward(self, X: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores [B, M, K] of every model."""
        W2 = W.permute(1, 0, 2).reshape(self.d, self.M * self.K)
        flat = torch.sparse.mm(X, W2) if X.is_sparse else X @ W2
        return flat.reshape(-1, self.M, self.K) + b[None]

    @torch.no_grad()
    def mean_losses(self, data: Data) -> np.ndarray:
        """Each model's current mean loss on ``data`` in label units: [M]."""
        W, b = self.W.detach(), self.b.detach()
        total = torch.zeros(self.M, dtype=torch.float64)
        for start in range(0, data.rows, EVAL_ROWS):
            X, y = data.batch(np.arange(start, min(start + EVAL_ROWS, data.rows)))
            total += self.loss.per_example(self.forward(X, W, b), y).double().sum(0)
        return (total / max(data.rows, 1)).numpy() * self.loss.factor

    @torch.no_grad()
    def scores(self, data: Data, W: torch.Tensor, b: torch.Tensor, rows: int) -> np.ndarray:
        """Raw scores [rows, M, K] of the first ``rows`` rows (normalised label units)."""
        parts = []
        for start in range(0, rows, EVAL_ROWS):
            X, _ = data.batch(np.arange(start, min(start + EVAL_ROWS, rows)))
            parts.append(self.forward(X, W, b).numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self.M, self.K), dtype=np.float32)

    def fit(
        self, train: Data, monitor: Data | None, log: Callable[[int, float, float | None], None]
    ) -> TrainResult:
        """Train every model; ``log(epoch, train loss, validation loss or None)`` after each epoch."""
        s = self.s
        rng = np.random.default_rng(s.seed)
        batch = max(1, min(s.mini_batch_size, train.rows))
        schedule = Schedule(s, self.lr0, math.ceil(train.rows / batch))
        stopping = EarlyStopping(s.early_stopping_patience, s.early_stopping_tolerance)
        self.W.requires_grad_(True)
        self.b.requires_grad_(s.use_bias)
        optimizer = Optimizer(s.optimizer, s, self.params)
        best_W, best_b = self.W.detach().clone(), self.b.detach().clone()
        best_loss = np.full(self.M, np.inf)
        best_epoch = np.zeros(self.M, dtype=np.int64)
        epoch = 0
        for epoch in range(s.epochs):
            train_loss = self._epoch(train, rng.permutation(train.rows), batch, schedule, optimizer)
            monitored = self.mean_losses(monitor if monitor is not None else train)
            self._drop_diverged(monitored, optimizer)
            monitored = np.where(self.alive.numpy(), monitored, np.inf)
            improved = monitored < best_loss
            schedule.end_epoch(improved)
            best_loss = np.where(improved, monitored, best_loss)
            best_epoch = np.where(improved, epoch, best_epoch)
            mask = torch.from_numpy(improved)
            best_W[mask], best_b[mask] = self.W.detach()[mask], self.b.detach()[mask]
            leader = int(np.argmin(monitored))
            current = float(monitored[leader])
            if not math.isfinite(current):
                raise AlgorithmError("every model diverged (the loss is not finite); lower learning_rate")
            if monitor is None:
                log(epoch, current, None)
            else:
                log(epoch, float(train_loss[leader]), current)
            if stopping.should_stop(current):
                print(
                    f"early stopping after epoch {epoch}: no relative improvement above "
                    f"{s.early_stopping_tolerance} for {stopping.stale} epochs",
                    flush=True,
                )
                break
        return TrainResult(best_W.numpy().copy(), best_b.numpy().copy(), best_loss, best_epoch, epoch + 1)

    @property
    def params(self) -> list[torch.Tensor]:
        return [self.W, self.b] if self.s.use_bias else [self.W]

    def _epoch(
        self, train: Data, order: np.ndarray, batch: int, schedule: Schedule, optimizer: Optimizer
    ) -> np.ndarray:
        """One pass over ``train`` in mini-batches; returns each model's mean training loss (label units)."""
        s, W, b, params = self.s, self.W, self.b, self.params
        running = torch.zeros(self.M, dtype=torch.float64)
        for start in range(0, train.rows, batch):
            X, y = train.batch(order[start : start + batch])
            per_example = self.loss.per_example(self.forward(X, W, b), y)
            weights = self.loss.example_weights(y, self.positive_weight)
            objective = (per_example if weights is None else per_example * weights).mean(0)
            grads = list(torch.autograd.grad(objective.sum(), params))
            running += per_example.detach().double().sum(0)
            with torch.no_grad():
                lr = schedule.rate(optimizer.t) * self.alive
                grads[0] += self.wd[:, None, None] * W
                lrs = [lr[:, None, None]]
                if s.use_bias:
                    grads[1] += (self.wd * s.bias_wd_mult)[:, None] * b
                    lrs.append((lr * s.bias_lr_mult)[:, None])
                steps = optimizer.step(params, grads, lrs)
                if bool((self.l1 > 0).any()):  # proximal L1: soft-threshold by step size * l1
                    W.copy_(W.sign() * torch.relu(W.abs() - steps[0] * self.l1[:, None, None]))
        return (running / train.rows).numpy() * self.loss.factor

    def _drop_diverged(self, monitored: np.ndarray, optimizer: Optimizer) -> None:
        """Retire the models whose loss or parameters are not finite (zeroed, learning rate 0)."""
        with torch.no_grad():
            finite = (
                torch.from_numpy(np.isfinite(monitored))
                & torch.isfinite(self.W).all(2).all(1)
                & torch.isfinite(self.b).all(1)
            )
            dropped = self.alive & ~finite
            if bool(dropped.any()):
                print(f"dropping diverged model(s) {torch.flatnonzero(dropped).tolist()}", flush=True)
                self.W[dropped], self.b[dropped] = 0.0, 0.0
                optimizer.reset(dropped)
                self.alive &= finite


def train_models(
    settings: Settings,
    loss: Loss,
    train: Data,
    monitor: Data | None,
    positive_weights: np.ndarray,
    log: Callable[[int, float, float | None], None],
) -> tuple[Trainer, TrainResult]:
    # The CPU kernels used here (dense and sparse matrix products, elementwise ops) are deterministic for a
    # fixed thread count; torch.use_deterministic_algorithms is not called because it imports the compiler
    # stack (seconds of start-up) for nothing.
    torch.manual_seed(settings.seed)
    trainer = Trainer(settings, loss, int(train.X.shape[1]), positive_weights)
    return trainer, trainer.fit(train, monitor, log)


def class_weights(settings: Settings, labels: np.ndarray) -> np.ndarray | None:
    """balance_multiclass_weights: n / (classes * count), 1 for a class absent from the data."""
    if settings.predictor_type != MULTICLASS or not settings.balance_multiclass_weights:
        return None
    counts = np.bincount(labels.astype(np.int64), minlength=settings.num_classes).astype(np.float64)
    weights = np.divide(
        labels.size, settings.num_classes * counts, out=np.ones_like(counts), where=counts > 0
    )
    return weights.astype(np.float32)
