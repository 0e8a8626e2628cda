/** A small Prometheus text-format registry: counters, gauges and histograms with labels, Web APIs only. */
type Labels = Record<string, string>

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const format = (labels: Labels, extra?: [string, string]) => {
  const pairs = Object.entries(labels)
  if (extra) pairs.push(extra)
  return pairs.length ? `{${pairs.map(([name, value]) => `${name}="${escape(value)}"`).join(',')}}` : ''
}

interface Metric {
  render(): string
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: 'counter' | 'gauge' = 'counter',
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const id = key(labels)
    const entry = this.values.get(id)
    if (entry) entry.value += by
    else this.values.set(id, { labels, value: by })
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`]
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${format(labels)} ${value}`)
    return lines.join('\n')
  }
}

export class Gauge extends Counter {
  constructor(name: string, help: string) {
    super(name, help, 'gauge')
  }

  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by)
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const id = key(labels)
    let entry = this.series.get(id)
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(id, entry)
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) entry.counts[i]! += 1
    entry.sum += value
    entry.count += 1
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket${format(labels, ['le', String(bound)])} ${counts[i]}`))
      lines.push(`${this.name}_bucket${format(labels, ['le', '+Inf'])} ${count}`)
      lines.push(`${this.name}_sum${format(labels)} ${sum}`)
      lines.push(`${this.name}_count${format(labels)} ${count}`)
    }
    return lines.join('\n')
  }
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** The metrics EdgeChat records (one set per process or isolate). */
export function createMetrics() {
  const metrics = {
    requests: new Counter('edgechat_http_requests_total', 'HTTP requests by method, route and status'),
    requestDuration: new Histogram('edgechat_http_request_duration_seconds', 'HTTP request latency by method and route', LATENCY_BUCKETS),
    generations: new Counter('edgechat_generations_total', 'Finished generations by model (a catalog or MODEL_IDS id, else other) and outcome'),
    timeToFirstToken: new Histogram('edgechat_time_to_first_token_seconds', 'Time from turn start to the first text delta', LATENCY_BUCKETS),
    tokens: new Counter('edgechat_tokens_total', 'Model tokens by model (a catalog or MODEL_IDS id, else other) and direction (input, output, cache_read, cache_write)'),
    cost: new Counter('edgechat_cost_usd_total', 'Cost of model calls in USD (tokens × the catalog\'s prices) by model'),
    activeGenerations: new Gauge('edgechat_active_generations', 'Generations running in this process'),
  }
  return {
    ...metrics,
    render: () => `${Object.values(metrics).map((metric) => metric.render()).join('\n')}\n`,
  }
}

export type Metrics = ReturnType<typeof createMetrics>
