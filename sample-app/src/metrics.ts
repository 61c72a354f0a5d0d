import { Logger } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * With `METRICS_PORT` set, serves the app's OpenTelemetry metrics (the rate limiter's among them)
 * in Prometheus text at `http://<host>:<METRICS_PORT>/metrics`. The MeterProvider is registered
 * globally before the app is created: the module creates its instruments when it starts, from
 * the MeterProvider registered then.
 */
export async function startMetrics(portSetting: string | undefined): Promise<void> {
  if (!portSetting) return;
  const port = Number(portSetting);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`METRICS_PORT must be a port number (got ${JSON.stringify(portSetting)})`);
  }
  const exporter = new PrometheusExporter({ port, preventServerStart: true });
  await exporter.startServer();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
  new Logger('SampleApp').log(`Metrics: http://localhost:${port}/metrics`);
}
