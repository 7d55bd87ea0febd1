"""Tasks for a (pruned) recurrent spiking network (design sections 1 and 4).

- :mod:`.dynamical`: Lorenz-63 and Rossler series by RK4 (paper supplement A.4).
- :mod:`.series`: the :class:`TimeSeriesDataset` container, a user's CSV series, real
  series shipped inside statsmodels, and the 500 + 100 step prediction protocol.
- :mod:`.images`: CIFAR-10/100 from the python files on disk (restricted unpickler) and
  scikit-learn's built-in digits.
- :mod:`.encoding`: Poisson and deterministic rate codes, ON/OFF pairs for signed values,
  image presentation (100 ms input + 100 ms silence).
- :mod:`.readout`: top-10 % betweenness readout neurons, spike traces, ridge and
  20-hidden-unit MLP readouts (numpy).
- :mod:`.metrics`: NRMSE, valid prediction time, accuracy.
- :mod:`.memory`: tasks that need memory: memory capacity (Jaeger 2001), NARMA-10
  (Atiya & Parlos 2000), Lorenz-63 observed through x only.
- :mod:`.code_choice`: the code of a user's series (scaling, steps per sample, level or
  level and change), chosen on its training samples by the input code's own floor.
"""

from .dynamical import (LORENZ63_LAMBDA_MAX, integrate_rk4, lorenz63, lorenz63_rhs, rk4_step,
                        rossler, rossler_rhs)
from .encoding import (ImageEncoder, RateEncoder, SignalScaling, channel_intensities,
                       combine_channels, decode_rates, deterministic_spikes, poisson_spikes,
                       spike_counts, staggered_population_spikes)
from .images import (CIFAR10_CLASSES, ImageDataset, UnsafePickleError, load_cifar10,
                     load_cifar100, load_cifar_batch, load_digits_dataset, safe_unpickle)
from .memory import (MC_DELAYS, MEMORY_TASKS, SeriesTask, TaskSplit, make_task,
                     memory_capacity, narma)
from .metrics import (ForecastScore, VPTResult, accuracy, nrmse, nrmse_per_step, score_forecast,
                      valid_prediction_time)
from .readout import (MLPReadout, RidgeReadout, exponential_trace, pool_samples,
                      readout_features, select_readout_neurons)
from .series import (PACKAGED_SERIES, PredictionWindow, TimeSeriesDataset, closed_loop_forecast,
                     load_csv_series, load_packaged_series, prediction_window,
                     prediction_windows, read_csv_columns, split_series)

__all__ = [
    "LORENZ63_LAMBDA_MAX", "integrate_rk4", "lorenz63", "lorenz63_rhs", "rk4_step", "rossler",
    "rossler_rhs",
    "ImageEncoder", "RateEncoder", "SignalScaling", "channel_intensities", "combine_channels",
    "decode_rates", "deterministic_spikes", "poisson_spikes", "spike_counts",
    "staggered_population_spikes",
    "CIFAR10_CLASSES", "ImageDataset", "UnsafePickleError", "load_cifar10", "load_cifar100",
    "load_cifar_batch", "load_digits_dataset", "safe_unpickle",
    "ForecastScore", "VPTResult", "accuracy", "nrmse", "nrmse_per_step", "score_forecast",
    "valid_prediction_time",
    "MLPReadout", "RidgeReadout", "exponential_trace", "pool_samples", "readout_features",
    "select_readout_neurons",
    "PACKAGED_SERIES", "PredictionWindow", "TimeSeriesDataset", "closed_loop_forecast",
    "load_csv_series",
    "load_packaged_series", "prediction_window", "prediction_windows", "read_csv_columns",
    "split_series",
]
