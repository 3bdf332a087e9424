declare module 'parse-prometheus-text-format' {
  export type PromMetric = { value?: string; labels?: Record<string, string> };
  export type PromFamily = { name: string; help: string; type: string; metrics: PromMetric[] };
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
