// The name of a core/v1 definition in the OpenAPI schema map (`io.k8s.api.core.v1.<Kind>`).
export const CORE = (n: string) => `io.k8s.api.core.v1.${n}`;
