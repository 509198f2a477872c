"""Log runs from your own training scripts into Trickbench (stdlib only).

    import trickbench
    with trickbench.init(experiment="smoothing", arm="baseline", seed=0, params={"lr": 0.1}) as run:
        for step in range(100):
            run.log({"train/loss": loss}, step=step)
        run.log({"val/acc": acc}, step=step, epoch=1)
"""

from ._run import Run, init
from ._transport import TrickbenchError

__all__ = ["init", "Run", "TrickbenchError"]
__version__ = "0.1.0"
