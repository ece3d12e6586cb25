"""The optimisers of a schedule phase: Adam for the network (and, with its own learning rate,
for the unknowns) with a step decay, or L-BFGS over everything; and their learning rates scaled
for a retry after a divergence."""
import torch

from pinn_cli.training.lbfgs import make_lbfgs


def phase_optimizers(phase, net, unknowns, lr_factor: float = 1.0):
    """(optimisers, learning-rate schedulers) for `phase` (pinn_cli.training.schedule.Phase)."""
    lr = phase.lr * lr_factor
    if phase.optimizer == "lbfgs":
        # history 100: on Raissi's Burgers (4 draws) within 1 % to stay after 480-630
        # iterations, against 580-710 and one > 800 with 50
        return [make_lbfgs(list(net.parameters()) + list(unknowns.parameters()), lr=lr,
                           max_iter=1, max_eval=25, history_size=100)], []
    optimizers = [torch.optim.Adam(net.parameters(), lr=lr)]
    if phase.unknowns_lr is not None:
        optimizers.append(torch.optim.Adam(unknowns.parameters(),
                                           lr=phase.unknowns_lr * lr_factor))
    return optimizers, [torch.optim.lr_scheduler.StepLR(o, 1000, phase.decay)
                        for o in optimizers]


def scaled_lrs(pending, factor):
    """Checkpointed optimiser states with every learning rate multiplied by `factor`."""
    opt_states, sched_states = pending
    for st in opt_states:
        for g in st["param_groups"]:
            g["lr"] *= factor
            if "initial_lr" in g:
                g["initial_lr"] *= factor
    for st in sched_states:
        st["base_lrs"] = [lr * factor for lr in st.get("base_lrs", [])]
        if "_last_lr" in st:
            st["_last_lr"] = [lr * factor for lr in st["_last_lr"]]
    return opt_states, sched_states
