/** The ports of the tenant's pods and of the control plane they call, shared by workloads, Services and NetworkPolicies. */

/** The gateway's ingestion API. */
export const HTTP_PORT = 8080;
/** The data plane's admin API (health, failed events, stats), on gateways and workers. */
export const ADMIN_PORT = 8081;
/** The control plane's API, which data planes pull their config from. */
export const CONTROL_PLANE_PORT = 8070;
/** The jobs database. */
export const POSTGRES_PORT = 5432;
