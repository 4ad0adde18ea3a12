"""SinGAN for Krita: the engine, the model store, the CLI and the backend server."""

import os

# Sleep, don't spin, while waiting at OpenMP barriers. SinGAN's tensors are small, so torch
# enters thousands of parallel regions a second; with the default spinning policy, two
# threads on two cores that something else also uses (Krita, a second job) ran 10-30x slower
# here, and a passive wait removed that. Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
