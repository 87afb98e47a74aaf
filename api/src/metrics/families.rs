//! Writing metric families with prometheus-client's encoder: gauges,
//! counters and the duration histogram, each from ready-made values.

use std::fmt;

use nexus_shared::catalog::{DURATION_BUCKETS, Durations};
use nexus_shared::domain::BackupType;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

pub(super) type Labels = Vec<(&'static str, String)>;

pub(super) fn by_type(t: BackupType) -> Labels {
    vec![("type", t.as_str().to_owned())]
}

/// One metric family: its descriptor, then a sample per label set. A family
/// with no series is left out.
fn family<V: Copy>(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric_type: MetricType,
    series: &[(Labels, V)],
    encode: impl Fn(V, MetricEncoder) -> fmt::Result,
) -> fmt::Result {
    if series.is_empty() {
        return Ok(());
    }
    let mut metric = out.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in series {
        encode(*value, metric.encode_family(labels)?)?;
    }
    Ok(())
}

pub(super) fn gauges<V: Copy>(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, V)],
) -> fmt::Result
where
    ConstGauge<V>: EncodeMetric,
{
    family(out, name, help, MetricType::Gauge, series, |v, m| {
        ConstGauge::new(v).encode(m)
    })
}

/// `name` without `_total`: the encoder adds it.
pub(super) fn counters(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, u64)],
) -> fmt::Result {
    family(out, name, help, MetricType::Counter, series, |v, m| {
        ConstCounter::new(v).encode(m)
    })
}

/// The duration histogram, one series per backup type (zeros for a type
/// with no successful backup).
pub(super) fn durations(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    durations: &[(BackupType, Durations)],
) -> fmt::Result {
    let mut metric = out.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for t in BackupType::ALL {
        let labels = by_type(t);
        let found = durations.iter().find(|(dt, _)| *dt == t);
        // The encoder wants each bucket's own count; the catalog gives
        // cumulative ones.
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, le)| {
                let cumulative = found.map_or(0, |(_, d)| d.cumulative[i]);
                let own = cumulative.saturating_sub(below);
                below = cumulative;
                (*le, own)
            })
            .collect();
        let (sum, count) = found.map_or((0.0, 0), |(_, d)| (d.sum_secs, d.count));
        metric
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}
