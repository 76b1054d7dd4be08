export function dashboardFiles(_c: unknown): Record<string,string> { return {}; }
