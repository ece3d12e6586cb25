"""pinn-fit: recover unknown PDE coefficients from data with inverse PINNs."""
