"""Many runs of one method as one stacked model (``torch.func``): its state and its step.

A study's runs of one (method, dataset, architecture, steps) differ only in seed and in
numbers inside the loss (beta, gamma, c_max, lambda_od...). Their parameters are stacked
along a new first dimension, one step evaluates every member's loss at once (``vmap`` over
``functional_call``; convolutions become grouped ones), and one optimiser steps the stacked
tensors. Adam works element by element, so one Adam over the stack is every member's own
Adam; each of the members' optimiser groups (FactorVAE's discriminator has its own learning
rate and betas) is a group of the stacked optimiser.

Each member's data come from its own NumPy generator and its noise from its own torch
generator, seeded as its single run seeds them, so its losses are its single run's up to
float rounding; :meth:`Stack.write_back` copies each member's slice into its own model and
optimiser, which its single run's writers checkpoint. A method declares what may differ
with ``TorchMethod.stackable``. :mod:`disbench.training.stacked_runs` trains a list of runs
with stacks (``disbench train -m beta-vae --seeds 0-3 --set beta=1,2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from disbench.errors import DisbenchError

#: optimisers whose update of a tensor is the update of each of its slices (so of each member)
ELEMENTWISE_OPTIMIZERS = ("Adam", "AdamW", "SGD")


@dataclass
class Member:
    """One run of a stack: its folder and method (whose model and optimiser hold the member's
    state whenever it is checkpointed), its generators and its unwritten log lines."""

    run: Any
    optimizer: Any
    rng: np.random.Generator
    generator: Any
    start_step: int
    cpu_threads: int | None
    pending_log: list[str] = field(default_factory=list)
    last_saved: int = 0

    @property
    def method(self) -> Any:
        return self.run.method


def open_member(run: Any) -> Member:
    """A member continued from its checkpoint (or fresh), with the generators its single run would hold."""
    import torch

    from disbench import training

    method = run.method
    rng = np.random.default_rng(method.seed)
    generator = torch.Generator(device=method.device).manual_seed(method.seed)
    optimizer = training.with_initial_lr(method.configure_optimizer())
    if type(optimizer).__name__ not in ELEMENTWISE_OPTIMIZERS:
        raise DisbenchError(f"{method.name} trains with {type(optimizer).__name__}, which a stack cannot share; "
                            "train its runs one at a time.")
    start_step, cpu_threads = 0, None
    checkpoint = run.run_dir / training.CHECKPOINT
    if checkpoint.is_file():
        start_step, cpu_threads = training.restore_checkpoint(checkpoint, method, optimizer, rng, generator)
    training.prepare_log(run.run_dir, start_step, set(method.config.save_at))
    return Member(run, optimizer, rng, generator, start_step, cpu_threads, last_saved=start_step)


def step_module(method: Any) -> Any:
    """``method.step_losses`` as a module whose only parameters are ``model.*``: ``functional_call``
    swaps a member's parameters in for one call."""
    import torch

    class StepModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = method.model

        def forward(self, step: int, inputs: tuple, hyper: dict) -> dict:
            return method.step_losses(step, inputs, hyper)

    return StepModule()


class Stack:
    """The stacked parameters and optimiser of members that share a step count."""

    def __init__(self, members: list[Member], compile: bool = False) -> None:
        import torch
        from torch.func import functional_call, vmap

        self.members = members
        template = members[0].method
        module = step_module(template)

        def member_losses(params, buffers, member_inputs, hyper, step):
            state = {**{f"model.{k}": v for k, v in params.items()}, **{f"model.{k}": v for k, v in buffers.items()}}
            return functional_call(module, state, (step, member_inputs, hyper))

        self.batched_losses = vmap(member_losses, in_dims=(0, 0, 0, 0, None))
        if compile:
            self.batched_losses = torch.compile(self.batched_losses)
        self.names = [name for name, _ in template.model.named_parameters()]
        with torch.no_grad():
            self.params = {
                name: torch.stack([dict(m.method.model.named_parameters())[name] for m in members]).requires_grad_()
                for name in self.names
            }
            self.buffers = {
                name: torch.stack([dict(m.method.model.named_buffers())[name] for m in members])
                for name, _ in template.model.named_buffers()
            }
        self.hyper = {
            name: torch.tensor([float(getattr(m.method.config, name)) for m in members], dtype=torch.float32,
                               device=template.device)
            for name in template.stackable
        }
        self.optimizer = self._stacked_optimizer()

    def _param_names(self, member: Member) -> list[list[str]]:
        """Each optimiser group's parameters of ``member`` by name."""
        name_of = {id(p): name for name, p in member.method.model.named_parameters()}
        return [[name_of[id(p)] for p in group["params"]] for group in member.optimizer.param_groups]

    def _stacked_optimizer(self) -> Any:
        import torch

        first = self.members[0].optimizer
        groups = [
            {**{k: v for k, v in group.items() if k != "params"}, "params": [self.params[n] for n in names]}
            for group, names in zip(first.param_groups, self._param_names(self.members[0]))
        ]
        optimizer = type(first)(groups)
        for names in self._param_names(self.members[0]):
            for name in names:
                states = [m.optimizer.state[dict(m.method.model.named_parameters())[name]] for m in self.members]
                if states[0]:
                    optimizer.state[self.params[name]] = {
                        key: torch.stack([s[key] for s in states]) if torch.is_tensor(value) and value.dim() > 0
                        else (value.clone() if torch.is_tensor(value) else value)
                        for key, value in states[0].items()
                    }
        return optimizer

    def losses(self, step: int, loss_names: list[str]) -> Any:
        """One step of every member: ``(N, len(loss_names))`` detached losses, still on the device."""
        import torch

        inputs = [m.method.draw_inputs(step, m.rng, m.generator) for m in self.members]
        batched = tuple(torch.stack(parts) for parts in zip(*inputs))
        losses = self.batched_losses(self.params, self.buffers, batched, self.hyper, step)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].sum().backward()  # members share no parameter: each gets its own gradient
        self.optimizer.step()
        if not loss_names:
            loss_names.extend(losses)
        return torch.stack([losses[k].detach().float() for k in loss_names], dim=1)

    def write_back(self) -> None:
        """Copy each member's slice of the stack into its own model and optimiser (for its checkpoint)."""
        import torch

        with torch.no_grad():
            for i, member in enumerate(self.members):
                own = dict(member.method.model.named_parameters())
                for name in self.names:
                    own[name].copy_(self.params[name][i])
                own_buffers = dict(member.method.model.named_buffers())
                for name, value in self.buffers.items():
                    own_buffers[name].copy_(value[i])
                for group, stacked_group, names in zip(
                    member.optimizer.param_groups, self.optimizer.param_groups, self._param_names(member)
                ):
                    group["lr"] = stacked_group["lr"]
                    for name in names:
                        state = self.optimizer.state.get(self.params[name])
                        if state:
                            member.optimizer.state[own[name]] = {
                                key: value[i].clone() if torch.is_tensor(value) and value.dim() > 0
                                else (value.clone() if torch.is_tensor(value) else value)
                                for key, value in state.items()
                            }
