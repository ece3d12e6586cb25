"""L-BFGS with strong-Wolfe line search, the inverse-Hessian product in compact form.

torch.optim.LBFGS applies its m stored pairs (s_i, y_i) by the two-loop recursion (Nocedal &
Wright 2006, Algorithm 7.4): about 8 small tensor operations per pair and step, 1.7-2.9 ms per
step at m = 100 on a 2-core CPU, about a tenth of an iteration of Raissi's Burgers. The compact
form of Byrd, Nocedal & Schnabel (1994, "Representations of quasi-Newton matrices and their use
in limited memory methods", Math. Prog. 63, eq. 2.6; Nocedal & Wright eq. 7.24) gives the same
product with a few matrix-vector products over all pairs at once:

    H g = γ g + S p − γ Y q,   q = R⁻¹ Sᵀg,   p = R⁻ᵀ ((D + γ YᵀY) q − γ Yᵀg),

S, Y (n × m) the pairs, oldest first, R the upper triangle of SᵀY, D its diagonal and
γ = sᵀy / yᵀy of the newest pair (H₀ = γ I, as in torch). SᵀY and YᵀY are updated by one row
and column per pair, each product computed in the parameters' dtype, so that torch's
load_state_dict, which casts state tensors to that dtype, resumes them exactly; the m × m
algebra runs in float64. Everything else (first step, curvature test yᵀs > 1e-10, line search,
stopping tests, `state["n_iter"]`) is torch's LBFGS, whose strong-Wolfe search
(`_strong_wolfe`) this class calls.
"""
import torch
from torch.optim.lbfgs import _strong_wolfe


class CompactLBFGS(torch.optim.LBFGS):
    """torch.optim.LBFGS (same arguments; line_search_fn="strong_wolfe" only), the direction
    from the compact representation. Its state (pairs, products, last direction) is in
    `state_dict()`, so a checkpointed run resumes with the same iterates."""

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        if self.param_groups[0]["line_search_fn"] != "strong_wolfe":
            raise ValueError("CompactLBFGS needs line_search_fn='strong_wolfe'")

    def _remember(self, state, s, y, ys) -> None:
        """Store the pair (s, y) in the ring buffers S, Y (m × n), over the oldest pair when the
        history is full, and extend SᵀY and YᵀY (chronological order) by its row and column."""
        m = self.param_groups[0]["history_size"]
        if "S" not in state:
            empty = torch.zeros(0, 0, dtype=torch.float64, device=s.device)
            state.update(S=s.new_zeros(m, s.numel()), Y=s.new_zeros(m, s.numel()), pairs=0,
                         next=0, SY=empty, YY=empty)
        S, Y, SY, YY = (state[k] for k in ("S", "Y", "SY", "YY"))
        if state["pairs"] == m:
            SY, YY = SY[1:, 1:], YY[1:, 1:]
        slot = state["next"]
        S[slot], Y[slot] = s, y
        state["pairs"], state["next"] = min(state["pairs"] + 1, m), (slot + 1) % m
        order = self._order(state)
        sy = (S @ y).double()[order]  # s_iᵀ y_new: the new column of SᵀY
        ys_row = (Y @ s).double()[order[:-1]]  # s_newᵀ y_j, older j: the new row
        yy = (Y @ y).double()[order]
        state["SY"] = torch.cat([torch.cat([SY, sy[:-1, None]], 1),
                                 torch.cat([ys_row, sy[-1:]])[None]])
        state["YY"] = torch.cat([torch.cat([YY, yy[:-1, None]], 1), yy[None]])
        state["gamma"] = float(ys) / float(y.dot(y))

    @staticmethod
    def _order(state) -> torch.Tensor:
        """The ring-buffer slots of the stored pairs, oldest first."""
        m, n = len(state["S"]), state["pairs"]
        return (torch.arange(n, device=state["S"].device) + state["next"] - n) % m

    @classmethod
    def _direction(cls, state, g: torch.Tensor) -> torch.Tensor:
        """−H g from the stored pairs (compact form; −g without pairs)."""
        if not state.get("pairs"):
            return g.neg()
        S, Y, gamma = state["S"], state["Y"], state["gamma"]
        SY, YY = state["SY"].double(), state["YY"].double()  # float32 after a load_state_dict
        order = cls._order(state)
        a, b = (S @ g).double()[order], (Y @ g).double()[order]
        R = SY.triu()
        q = torch.linalg.solve_triangular(R, a[:, None], upper=True)[:, 0]
        rhs = torch.diagonal(SY) * q + gamma * (YY @ q - b)
        p = torch.linalg.solve_triangular(R.T, rhs[:, None], upper=False)[:, 0]
        # back to ring order: slots not holding a pair (history not yet full) get 0
        coef_s, coef_y = S.new_zeros(len(S)), S.new_zeros(len(S))
        coef_s[order], coef_y[order] = p.to(g.dtype), (-gamma * q).to(g.dtype)
        return (gamma * g + S.T @ coef_s + Y.T @ coef_y).neg()

    @torch.no_grad()
    def step(self, closure):
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss, evals = float(orig_loss), 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if flat_grad.abs().max() <= tol_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        prev_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] > 1:
                y, s = flat_grad.sub(prev_grad), d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:
                    self._remember(state, s, y, ys)
            d = self._direction(state, flat_grad)
            if prev_grad is None:
                prev_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            else:
                prev_grad.copy_(flat_grad)
            prev_loss = loss
            t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr if state["n_iter"] == 1 \
                else lr
            gtd = flat_grad.dot(d)
            if gtd > -tol_change:
                break
            loss, flat_grad, t, ls_evals = _strong_wolfe(
                lambda x, t, d: self._directional_evaluate(closure, x, t, d),
                self._clone_param(), t, d, loss, flat_grad, gtd, max_ls=max_eval - evals)
            self._add_grad(t, d)
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (n_iter == max_iter or evals >= max_eval or flat_grad.abs().max() <= tol_grad
                    or d.mul(t).abs().max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break
        state.update(d=d, t=t, prev_flat_grad=prev_grad, prev_loss=prev_loss)
        return orig_loss


def make_lbfgs(params, *, max_iter: int = 1, max_eval: int | None = None,
               history_size: int = 100, compact: bool = True, lr: float = 1.0):
    """The one L-BFGS set-up of pinn-fit: strong-Wolfe line search, gradient and change
    tolerances at the rounding floor (1e-12, 1e-15) so that the budget, not a tolerance, ends
    a fit. `compact` (the trainer's phases) takes `CompactLBFGS`, else torch's two-loop form
    (the short re-fits and the IP-Basis queries, with `history_size` 50)."""
    kind = CompactLBFGS if compact else torch.optim.LBFGS
    return kind(params, lr=lr, max_iter=max_iter, max_eval=max_eval, history_size=history_size,
                line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
