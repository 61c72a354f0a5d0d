import type { Attributes } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';

/** A MetricReader read on demand (collect()), and the MeterProvider it belongs to. */
class OnDemandReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point: its attributes and its value (a number, or a histogram's fields). */
export interface Point {
  readonly attributes: Attributes;
  readonly value: number | Histogram;
}

export interface MetricsProbe {
  readonly provider: MeterProvider;
  /** Every data point of the instrument `name` of meter `nest-redis-rate-limit`, now. */
  points(name: string): Promise<Point[]>;
  /** Names of the meters that have instruments, now. */
  meters(): Promise<string[]>;
  shutdown(): Promise<void>;
}

/** A MeterProvider with an in-memory reader (cumulative: counts since the start). */
export function metricsProbe(): MetricsProbe {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  const collect = async () => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    return resourceMetrics.scopeMetrics;
  };
  return {
    provider,
    points: async (name) =>
      (await collect())
        .filter((scope) => scope.scope.name === 'nest-redis-rate-limit')
        .flatMap((scope) => scope.metrics)
        .filter((metric) => metric.descriptor.name === name)
        .flatMap((metric) =>
          (metric.dataPoints as DataPoint<number | Histogram>[]).map(({ attributes, value }) => ({
            attributes,
            value,
          })),
        ),
    meters: async () =>
      (await collect())
        .filter((scope) => scope.metrics.length > 0)
        .map((scope) => scope.scope.name),
    shutdown: () => provider.shutdown(),
  };
}

/** `attributes → value` of counter points, the attributes as sorted `key=value` pairs. */
export function byAttributes(points: readonly Point[]): Record<string, number> {
  const table: Record<string, number> = {};
  for (const { attributes, value } of points) {
    const key = Object.entries(attributes)
      .map(([name, attribute]) => `${name}=${String(attribute)}`)
      .sort()
      .join(',');
    table[key] = typeof value === 'number' ? value : value.count;
  }
  return table;
}
