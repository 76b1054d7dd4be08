/** Renders the dashboards as ConfigMaps the Grafana sidecar of kube-prometheus-stack picks up. */
import type { Dashboard } from "./grafana.js";

/** Options of {@link dashboardConfigMaps}. */
export interface ConfigMapOptions {
  namespace?: string;
  /** Label the sidecar watches; kube-prometheus-stack's default is `grafana_dashboard: "1"`. */
  label?: { name: string; value: string };
  /** Folder the sidecar files the dashboards under (needs `sidecar.dashboards.folderAnnotation`). */
  folder?: string;
}

/** One ConfigMap per dashboard, so each stays far below the 1 MiB object limit. */
export function dashboardConfigMaps(dashboards: Record<string, Dashboard>, options: ConfigMapOptions = {}): object[] {
  const label = options.label ?? { name: "grafana_dashboard", value: "1" };
  return Object.entries(dashboards).map(([file, body]) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `${body.uid}-dashboard`,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      labels: { [label.name]: label.value, "app.kubernetes.io/name": "langgraph-ops" },
      annotations: { grafana_folder: options.folder ?? "LangGraph" },
    },
    data: { [file]: `${JSON.stringify(body, null, 2)}\n` },
  }));
}
