"""Know your data: schema inference, statistics and train/eval skew for Example records.

TF-free: numpy only. tensorflow_metadata is imported for the pbtxt schema, matplotlib for the
plot, each inside the function that needs it.

    from pipeline.inspect import profile_files, infer_schema, dataset_stats, compare_profiles
    profile = profile_files(["train-*.tfrecord.gz"], sample=10_000)
    print(render(infer_schema(profile), "pbtxt"))
"""

from pipeline.inspect.infer import (
    FORMATS,
    InferredFeature,
    InferredSchema,
    infer_schema,
    render,
    to_metadata_proto,
)
from pipeline.inspect.plot import plot_stats
from pipeline.inspect.profile import DatasetProfile, FeatureProfile, profile_files
from pipeline.inspect.stats import (
    Anomaly,
    SkewThresholds,
    compare_profiles,
    dataset_stats,
    feature_stats,
)

__all__ = [
    "FORMATS",
    "Anomaly",
    "DatasetProfile",
    "FeatureProfile",
    "InferredFeature",
    "InferredSchema",
    "SkewThresholds",
    "compare_profiles",
    "dataset_stats",
    "feature_stats",
    "infer_schema",
    "plot_stats",
    "profile_files",
    "render",
    "to_metadata_proto",
]
