/**
 * The docker-compose stack and the Kubernetes manifests cannot run here (no Docker, no cluster), so they are
 * validated: every file parses, has the expected kinds and fields, every file it references exists, the pieces
 * point at each other (service names, ports, paths, keys), and Prometheus' own promtool accepts the config with the
 * rules mounted exactly where the compose file mounts them.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { promtool } from "./support/prometheus.js";

const root = resolve(import.meta.dirname, "..");
const composeDir = join(root, "examples/docker-compose");
const k8sDir = join(root, "examples/kubernetes");
const temp = mkdtempSync(join(tmpdir(), "lgops-examples-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

type Yaml = Record<string, unknown>;
const obj = (v: unknown): Yaml => (typeof v === "object" && v !== null ? (v as Yaml) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Compose's `${NAME:-default}` interpolation, with nothing set in the environment. */
function interpolate(value: unknown): string {
  return String(value).replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? "");
}

function readYaml(path: string): Yaml {
  // Compose files use YAML merge keys (`<<: *anchor`), as Docker Compose does.
  const docs = parseAllDocuments(readFileSync(path, "utf8"), { merge: true });
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message).join("; ")}`);
  expect(docs).toHaveLength(1);
  return obj(docs[0]!.toJS());
}

describe("examples/docker-compose", () => {
  const compose = readYaml(join(composeDir, "docker-compose.yml"));
  const services = obj(compose.services);
  const service = (name: string) => obj(services[name]);
  const env = (name: string) => {
    const e = obj(service(name).environment);
    return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, interpolate(v)]));
  };
  /** Bind mounts of a service: host path (resolved from the compose file's directory) → container path. */
  const binds = (name: string) =>
    list(service(name).volumes)
      .map(String)
      .filter((v) => v.startsWith(".") || v.startsWith("/"))
      .map((v) => {
        const [source = "", target = ""] = v.split(":");
        return { source: resolve(composeDir, source), target };
      });

  it("has the app, Prometheus, Grafana, an OpenTelemetry Collector and Langfuse with its stores", () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        "app",
        "app-2",
        "clickhouse",
        "grafana",
        "langfuse-db",
        "langfuse-web",
        "langfuse-worker",
        "minio",
        "otel-collector",
        "prometheus",
        "redis",
      ].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      const spec = obj(s);
      expect(typeof spec.image === "string" || typeof spec.build === "object", `${name} has an image or a build`).toBe(true);
      if (typeof spec.image === "string") expect(spec.image, `${name} pins a tag`).toMatch(/:[\w.-]+$/);
      const deps = Array.isArray(spec.depends_on) ? spec.depends_on : Object.keys(obj(spec.depends_on));
      for (const dep of deps) expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
      for (const v of list(spec.volumes).map(String)) {
        const source = v.split(":")[0] ?? "";
        if (!source.startsWith(".") && !source.startsWith("/"))
          expect(Object.keys(obj(compose.volumes)), `${name}: volume ${source}`).toContain(source);
      }
    }
    // Host ports are unique.
    const hostPorts = Object.values(services).flatMap((s) => list(obj(s).ports).map((p) => String(p).split(":")[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("runs the API as two replicas that share the compose Redis (its password, a database of their own)", () => {
    const [a, b] = [env("app"), env("app-2")];
    expect(b).toEqual(a);
    // The password the redis service requires (its default, as compose interpolates it).
    const password = list(service("redis").command).map(interpolate)[1];
    expect(password).toBe("redis-local-secret");
    expect(a.REDIS_URL).toBe(`redis://:${password}@redis:6379/1`);
    expect(service("app-2").build).toEqual(service("app").build);
  });

  it("references only files that exist", () => {
    const all = Object.keys(services).flatMap((name) => binds(name).map((b) => ({ name, ...b })));
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const b of all) expect(existsSync(b.source), `${b.name}: ${b.source}`).toBe(true);
    const build = obj(service("app").build);
    const context = resolve(composeDir, String(build.context));
    const dockerfile = join(context, String(build.dockerfile));
    expect(existsSync(dockerfile)).toBe(true);
    const lines = readFileSync(dockerfile, "utf8").split("\n");
    for (const line of lines.filter((l) => l.startsWith("COPY "))) {
      for (const src of line.split(/\s+/).slice(1, -1)) expect(existsSync(join(context, src)), line).toBe(true);
    }
    const cmd = JSON.parse(lines.find((l) => l.startsWith("CMD "))!.slice(4)) as string[];
    expect(cmd.slice(0, 3)).toEqual(["node", "--import", "tsx"]);
    expect(existsSync(join(context, cmd[3]!))).toBe(true);
  });

  it("Prometheus: promtool accepts the config with the kit's rules mounted where the compose file puts them", () => {
    // Recreate the container's /etc/prometheus from the bind mounts, then check it as Prometheus would load it.
    const etc = join(temp, "etc-prometheus");
    const mounts = binds("prometheus").filter((b) => b.target.startsWith("/etc/prometheus/"));
    for (const m of mounts) {
      const dest = join(etc, posix.relative("/etc/prometheus", m.target));
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(m.source, dest);
    }
    const command = list(service("prometheus").command).map(String);
    expect(command).toContain("--config.file=/etc/prometheus/prometheus.yml");
    const config = join(etc, "prometheus.yml");
    const check = promtool(["check", "config", config]);
    expect(check.stdout + check.stderr).toContain("SUCCESS: 2 rule files found");
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const ruleFiles = list(readYaml(config).rule_files).map((f) => join(etc, String(f)));
    expect(ruleFiles.map((f) => readFileSync(f, "utf8"))).toEqual([
      readFileSync(join(root, "alerts/prometheus_rules.yaml"), "utf8"),
      readFileSync(join(root, "alerts/prometheus_alerts.yaml"), "utf8"),
    ]);
    const rules = promtool(["check", "rules", ...ruleFiles]);
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
  });

  it("Prometheus scrapes the app's /metrics on the port the app listens on", () => {
    const config = readYaml(join(composeDir, "prometheus/prometheus.yml"));
    const job = list(config.scrape_configs)
      .map(obj)
      .find((j) => j.job_name === "weather-agent");
    expect(job?.metrics_path).toBe("/metrics");
    const targets = list(obj(list(job?.static_configs)[0]).targets);
    expect(targets).toEqual([`app:${env("app").PORT}`, `app-2:${env("app-2").PORT}`]);
    expect(env("app").HOST).toBe("0.0.0.0");
    expect(list(service("app").ports)).toContain(`8080:${env("app").PORT}`);
  });

  it("Grafana: the data source is the compose Prometheus and the provider loads the kit's dashboards", () => {
    const mounts = binds("grafana");
    const provisioning = mounts.find((m) => m.target === "/etc/grafana/provisioning");
    expect(provisioning).toBeDefined();
    const datasources = list(readYaml(join(provisioning!.source, "datasources/prometheus.yaml")).datasources).map(obj);
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: "prometheus", url: "http://prometheus:9090", isDefault: true });
    expect(list(service("prometheus").ports)).toContain("9090:9090");
    const providers = list(readYaml(join(provisioning!.source, "dashboards/langgraph.yaml")).providers).map(obj);
    expect(providers).toHaveLength(1);
    const path = String(obj(providers[0]!.options).path);
    const dashboards = mounts.find((m) => m.target === path);
    expect(dashboards?.source).toBe(join(root, "dashboards"));
    const files = readdirSync(dashboards!.source).filter((f) => f.endsWith(".json") && statSync(join(dashboards!.source, f)).isFile());
    expect(files.sort()).toEqual([
      "langgraph-checkpoints-slo.json",
      "langgraph-llm.json",
      "langgraph-nodes.json",
      "langgraph-overview.json",
    ]);
    for (const f of files) {
      const dashboard = JSON.parse(readFileSync(join(dashboards!.source, f), "utf8")) as { uid: string; templating: { list: Yaml[] } };
      // The dashboards pick a data source through their variable, which the default Prometheus data source fills.
      expect(dashboard.templating.list.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
      expect(JSON.stringify(dashboard)).not.toContain("${DS_");
    }
  });

  it("OpenTelemetry Collector: every pipeline component is defined, and the app exports to its OTLP/HTTP receiver", () => {
    const mount = binds("otel-collector")[0]!;
    expect(list(service("otel-collector").command)).toContain(`--config=${mount.target}`);
    const config = readYaml(mount.source);
    const pipelines = obj(obj(config.service).pipelines);
    expect(Object.keys(pipelines)).toContain("traces");
    for (const [name, p] of Object.entries(pipelines)) {
      for (const kind of ["receivers", "processors", "exporters"] as const) {
        const defined = Object.keys(obj(config[kind]));
        for (const component of list(obj(p)[kind])) expect(defined, `${name}.${kind}: ${String(component)}`).toContain(component);
      }
    }
    const http = String(obj(obj(obj(obj(config.receivers).otlp).protocols).http).endpoint);
    const port = http.split(":").at(-1);
    expect(env("app").OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBe(`http://otel-collector:${port}/v1/traces`);
  });

  it("Langfuse: the app sends to langfuse-web with the keys of the project Langfuse creates at start", () => {
    const web = env("langfuse-web");
    const app = env("app");
    expect(app.LANGFUSE_BASE_URL).toBe("http://langfuse-web:3000");
    expect(list(service("langfuse-web").ports)).toContain("3000:3000");
    expect(app.LANGFUSE_PUBLIC_KEY).toBe(web.LANGFUSE_INIT_PROJECT_PUBLIC_KEY);
    expect(app.LANGFUSE_SECRET_KEY).toBe(web.LANGFUSE_INIT_PROJECT_SECRET_KEY);
    expect(app.LANGFUSE_PUBLIC_KEY).toMatch(/^pk-lf-/);
    for (const name of ["langfuse-web", "langfuse-worker"]) {
      const e = env(name);
      expect(e.ENCRYPTION_KEY, name).toMatch(/^[0-9a-f]{64}$/);
      for (const host of [e.DATABASE_URL, e.CLICKHOUSE_URL, e.CLICKHOUSE_MIGRATION_URL, e.LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT]) {
        expect(Object.keys(services), `${name}: ${host}`).toContain(new URL(String(host)).hostname);
      }
      expect(Object.keys(services)).toContain(e.REDIS_HOST);
      expect(e.DATABASE_URL).toContain(`:${env("langfuse-db").POSTGRES_PASSWORD}@`);
      expect(e.CLICKHOUSE_PASSWORD).toBe(env("clickhouse").CLICKHOUSE_PASSWORD);
      expect(e.LANGFUSE_S3_EVENT_UPLOAD_SECRET_ACCESS_KEY).toBe(env("minio").MINIO_ROOT_PASSWORD);
    }
  });

  it("the app drains on SIGTERM within the stop grace period", () => {
    const grace = /^(\d+)s$/.exec(String(service("app").stop_grace_period))?.[1];
    expect(Number(grace) * 1000).toBeGreaterThan(Number(env("app").SHUTDOWN_GRACE_MS));
  });
});

describe("examples/kubernetes", () => {
  const kustomization = readYaml(join(k8sDir, "kustomization.yaml"));
  const resources = list(kustomization.resources).map(String);
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(join(k8sDir, file), "utf8")).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
      return obj(d.toJS());
    });
  const all = [...resources, "grafana-dashboards.yaml"].flatMap((f) => docs(f).map((d) => ({ file: f, doc: d })));
  const ofKind = (kind: string) => all.filter((x) => x.doc.kind === kind).map((x) => x.doc);

  it("has a Deployment, a Service, a PodMonitor, a PrometheusRule and the dashboard ConfigMaps, all of which parse", () => {
    for (const f of resources) expect(existsSync(join(k8sDir, f)), f).toBe(true);
    expect(all.map((x) => x.doc.kind).sort()).toEqual(
      ["ConfigMap", "ConfigMap", "ConfigMap", "ConfigMap", "Deployment", "PodMonitor", "PrometheusRule", "Service"].sort(),
    );
    for (const { file, doc } of all) {
      expect(typeof doc.apiVersion, file).toBe("string");
      expect(typeof obj(doc.metadata).name, file).toBe("string");
    }
  });

  it("the PrometheusRule and the dashboard ConfigMaps are the generated files, byte for byte", () => {
    expect(readFileSync(join(k8sDir, "prometheusrule.yaml"), "utf8")).toBe(
      readFileSync(join(root, "alerts/kubernetes/prometheusrule.yaml"), "utf8"),
    );
    expect(readFileSync(join(k8sDir, "grafana-dashboards.yaml"), "utf8")).toBe(
      readFileSync(join(root, "dashboards/kubernetes/configmaps.yaml"), "utf8"),
    );
    // The ConfigMaps carry the dashboards themselves, and the Grafana sidecar's label.
    for (const cm of ofKind("ConfigMap")) {
      expect(obj(obj(cm.metadata).labels).grafana_dashboard).toBe("1");
      const [file, json] = Object.entries(obj(cm.data))[0]!;
      expect(JSON.parse(String(json))).toEqual(JSON.parse(readFileSync(join(root, "dashboards", file), "utf8")));
    }
    // The rules in the PrometheusRule are the ones promtool checks in alerts/.
    const groups = list(obj(ofKind("PrometheusRule")[0]!.spec).groups);
    const fromFiles = ["prometheus_rules.yaml", "prometheus_alerts.yaml"].flatMap((f) =>
      list(parse(readFileSync(join(root, "alerts", f), "utf8")).groups),
    );
    expect(groups).toEqual(fromFiles);
  });

  it("the Deployment probes /healthz and /readyz on its named container port and drains within its grace period", () => {
    const deployment = ofKind("Deployment")[0]!;
    const spec = obj(deployment.spec);
    const template = obj(spec.template);
    const podLabels = obj(obj(template.metadata).labels);
    expect(podLabels).toMatchObject(obj(obj(spec.selector).matchLabels));
    const podSpec = obj(template.spec);
    const container = obj(list(podSpec.containers)[0]);
    const ports = list(container.ports).map(obj);
    const http = ports.find((p) => p.name === "http");
    const envs = Object.fromEntries(
      list(container.env)
        .map(obj)
        .map((e) => [String(e.name), e.value]),
    );
    expect(String(http?.containerPort)).toBe(envs.PORT);
    expect(envs.HOST).toBe("0.0.0.0");
    expect(obj(obj(container.livenessProbe).httpGet)).toEqual({ path: "/healthz", port: "http" });
    expect(obj(obj(container.readinessProbe).httpGet)).toEqual({ path: "/readyz", port: "http" });
    const preStop = list(obj(obj(obj(container.lifecycle).preStop).exec).command).map(String);
    const pauseS = preStop[0] === "sleep" ? Number(preStop[1]) : 0;
    expect(Number(podSpec.terminationGracePeriodSeconds) * 1000).toBeGreaterThan(pauseS * 1000 + Number(envs.SHUTDOWN_GRACE_MS));
    // Optional Langfuse keys: the pod starts without the Secret and exports to Langfuse once it exists.
    const secretRefs = list(container.env)
      .map(obj)
      .map((e) => obj(obj(e.valueFrom).secretKeyRef))
      .filter((r) => r.name !== undefined);
    expect(secretRefs.map((r) => r.optional)).toEqual([true, true]);
  });

  it("the Service and the PodMonitor select the Deployment's pods and a port the container has", () => {
    const template = obj(obj(ofKind("Deployment")[0]!.spec).template);
    const podLabels = obj(obj(template.metadata).labels);
    const portNames = list(obj(list(obj(template.spec).containers)[0]).ports).map((p) => obj(p).name);
    const service = obj(ofKind("Service")[0]!.spec);
    expect(podLabels).toMatchObject(obj(service.selector));
    for (const p of list(service.ports)) expect(portNames).toContain(obj(p).targetPort);
    const podMonitor = ofKind("PodMonitor")[0]!;
    const pm = obj(podMonitor.spec);
    expect(podLabels).toMatchObject(obj(obj(pm.selector).matchLabels));
    const endpoints = list(pm.podMetricsEndpoints).map(obj);
    expect(endpoints).toHaveLength(1);
    expect(portNames).toContain(endpoints[0]!.port);
    expect(endpoints[0]!.path).toBe("/metrics");
    // Prometheus Operator picks both up with the same release label.
    const release = obj(obj(podMonitor.metadata).labels).release;
    expect(release).toBeDefined();
    expect(obj(obj(ofKind("PrometheusRule")[0]!.metadata).labels).release).toBe(release);
  });

  it("the image the Deployment runs is built from a Dockerfile that exists, running the example that serves the probes", () => {
    const readme = readFileSync(join(k8sDir, "README.md"), "utf8");
    expect(readme).toContain("examples/docker-compose/app.Dockerfile");
    const dockerfile = readFileSync(join(composeDir, "app.Dockerfile"), "utf8");
    expect(dockerfile).toContain('"examples/http-api/server.ts"');
    const app = readFileSync(join(root, "examples/http-api/app.ts"), "utf8");
    for (const path of ["/healthz", "/readyz", "/metrics"]) expect(app).toContain(`app.get("${path}"`);
  });
});
